// Layer specs -> modules. Shapes are computed arithmetically first so that errors name the layer and
// its JSON path before any module exists; the user never types an input size.
#include "dltrain/model/model.hpp"

#include <sstream>

#include "dltrain/core/error.hpp"
#include "dltrain/core/format.hpp"

namespace dltrain::model {
namespace {

using Shape = std::vector<int64_t>;

std::string shape_text(const Shape& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) out += (i ? "x" : "") + std::to_string(s[i]);
  return out;
}

int64_t numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

[[noreturn]] void fail(const std::string& path, const std::string& message, const std::string& hint) {
  throw ConfigError(path + ": " + message, hint);
}

using config::LayerType;

// The module of an activation layer type (config::is_activation).
torch::nn::AnyModule activation(LayerType type, double negative_slope) {
  namespace nn = torch::nn;
  switch (type) {
    case LayerType::kReLU: return nn::AnyModule(nn::ReLU());
    case LayerType::kGELU: return nn::AnyModule(nn::GELU());
    case LayerType::kTanh: return nn::AnyModule(nn::Tanh());
    case LayerType::kSigmoid: return nn::AnyModule(nn::Sigmoid());
    case LayerType::kLeakyReLU:
      return nn::AnyModule(nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(negative_slope)));
    default:
      throw std::logic_error("not an activation");  // unreachable: the parser checks model.activation
  }
}

// Output size of a conv/pool window along one axis; 0 or less means the window does not fit.
int64_t window_out(int64_t in, int64_t kernel, int64_t stride, int64_t padding) {
  return (in + 2 * padding - kernel) / stride + 1;
}

struct Builder {
  Model model;
  Shape shape;  // current output shape, without batch
  int64_t index = 0;

  void add(const std::string& name, torch::nn::AnyModule module, int64_t flops = 0) {
    int64_t params = 0;
    for (const auto& p : module.ptr()->parameters()) params += p.numel();
    model.net->push_back(std::to_string(index++), std::move(module));
    model.layers.push_back({name, shape, params});
    model.parameters += params;
    model.flops_per_image += flops;
  }

  void flatten() {
    shape = {numel(shape)};
    add(config::layer_types().name(LayerType::kFlatten), torch::nn::AnyModule(torch::nn::Flatten()));
  }

  void layer(const config::LayerSpec& s, const std::string& path) {
    namespace nn = torch::nn;
    const LayerType t = s.type;
    const std::string name = config::layer_types().name(t);
    if (t == LayerType::kLinear) {
      if (shape.size() != 1) flatten();
      const int64_t in = shape[0];
      shape = {s.out_features};
      add(name + " " + std::to_string(in) + "->" + std::to_string(s.out_features),
          nn::AnyModule(nn::Linear(nn::LinearOptions(in, s.out_features).bias(s.bias))), 2 * in * s.out_features);
    } else if (t == LayerType::kConv2d || t == LayerType::kMaxPool2d || t == LayerType::kAvgPool2d) {
      if (shape.size() != 3) {
        fail(path, name + " needs an image input (channels x height x width), got " + shape_text(shape),
             "place conv and pooling layers before flatten/linear layers");
      }
      const bool conv = t == LayerType::kConv2d;
      const int64_t stride = s.stride > 0 ? s.stride : (conv ? 1 : s.kernel_size);
      const int64_t h = window_out(shape[1], s.kernel_size, stride, s.padding);
      const int64_t w = window_out(shape[2], s.kernel_size, stride, s.padding);
      if (h <= 0 || w <= 0) {
        fail(path, "kernel_size " + std::to_string(s.kernel_size) + " is larger than its " + shape_text({shape[1], shape[2]}) +
                       " input (padding " + std::to_string(s.padding) + ")",
             "use a smaller kernel_size, add padding, or remove a pooling layer before it");
      }
      if (s.padding * 2 > s.kernel_size && !conv) {
        fail(path, "padding " + std::to_string(s.padding) + " must be at most half of kernel_size " + std::to_string(s.kernel_size),
             "reduce padding");
      }
      const int64_t in_c = shape[0];
      const std::string geometry = std::to_string(s.kernel_size) + "x" + std::to_string(s.kernel_size) +
                                   (stride != (conv ? 1 : s.kernel_size) ? " s" + std::to_string(stride) : "") +
                                   (s.padding ? " p" + std::to_string(s.padding) : "");
      if (conv) {
        shape = {s.out_channels, h, w};
        add(name + " " + std::to_string(in_c) + "->" + std::to_string(s.out_channels) + " " + geometry,
            nn::AnyModule(nn::Conv2d(nn::Conv2dOptions(in_c, s.out_channels, s.kernel_size)
                                         .stride(stride).padding(s.padding).bias(s.bias))),
            2 * in_c * s.kernel_size * s.kernel_size * s.out_channels * h * w);
      } else if (t == LayerType::kMaxPool2d) {
        shape = {in_c, h, w};
        add(name + " " + geometry,
            nn::AnyModule(nn::MaxPool2d(nn::MaxPool2dOptions(s.kernel_size).stride(stride).padding(s.padding))));
      } else {
        shape = {in_c, h, w};
        add(name + " " + geometry,
            nn::AnyModule(nn::AvgPool2d(nn::AvgPool2dOptions(s.kernel_size).stride(stride).padding(s.padding))));
      }
    } else if (t == LayerType::kBatchNorm1d) {
      if (shape.size() != 1) fail(path, name + " needs flat features, got " + shape_text(shape), "use batchnorm2d after conv layers");
      add(name, nn::AnyModule(nn::BatchNorm1d(shape[0])));
    } else if (t == LayerType::kBatchNorm2d) {
      if (shape.size() != 3) fail(path, name + " needs an image input, got " + shape_text(shape), "use batchnorm1d after linear layers");
      add(name, nn::AnyModule(nn::BatchNorm2d(shape[0])));
    } else if (t == LayerType::kDropout) {
      std::ostringstream label;
      label << name << " " << s.p;
      add(label.str(), nn::AnyModule(nn::Dropout(s.p)));
    } else if (t == LayerType::kFlatten) {
      flatten();
    } else {
      add(name, activation(t, s.negative_slope));
    }
  }
};

}  // namespace

Model build(const config::ModelConfig& config, const std::vector<int64_t>& input_shape, int64_t num_classes) {
  Builder b;
  b.model.net = torch::nn::Sequential();
  b.model.input_shape = input_shape;
  b.shape = input_shape;
  if (config.type == config::ModelType::kMlp) {
    for (size_t i = 0; i < config.hidden.size(); ++i) {
      const std::string path = "/model/hidden/" + std::to_string(i);
      config::LayerSpec linear;
      linear.type = LayerType::kLinear;
      linear.out_features = config.hidden[i];
      b.layer(linear, path);
      config::LayerSpec act;
      act.type = config.activation;
      b.layer(act, "/model/activation");
      if (config.dropout > 0) {
        config::LayerSpec drop;
        drop.type = LayerType::kDropout;
        drop.p = config.dropout;
        b.layer(drop, "/model/dropout");
      }
    }
    config::LayerSpec head;
    head.type = LayerType::kLinear;
    head.out_features = num_classes;
    b.layer(head, "/model");
  } else {
    for (size_t i = 0; i < config.layers.size(); ++i) b.layer(config.layers[i], "/model/layers/" + std::to_string(i));
  }
  if (b.shape != Shape{num_classes}) {
    throw ConfigError("/model/layers: the model ends with output shape " + shape_text(b.shape) + " but the dataset has " +
                          std::to_string(num_classes) + " classes",
                      std::string("end the layer list with {\"type\": \"") + config::layer_types().name(LayerType::kLinear) +
                          "\", \"out_features\": " + std::to_string(num_classes) + "}");
  }
  return b.model;
}

std::string summary_table(const Model& model) {
  std::ostringstream out;
  out << "  #  layer                          output        params\n";
  out << "     input                          " << shape_text(model.input_shape) << "\n";
  for (size_t i = 0; i < model.layers.size(); ++i) {
    const auto& row = model.layers[i];
    out << format("%3zu  %-30s %-12s %8lld\n", i, row.name.c_str(), shape_text(row.output_shape).c_str(),
                  static_cast<long long>(row.parameters));
  }
  out << "     total parameters: " << model.parameters << "  forward MFLOP/image: " << model.flops_per_image / 1e6;
  return out.str();
}

nlohmann::json summary_json(const Model& model) {
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& row : model.layers) {
    layers.push_back({{"layer", row.name}, {"output_shape", row.output_shape}, {"parameters", row.parameters}});
  }
  return {{"input_shape", model.input_shape},
          {"layers", layers},
          {"parameters", model.parameters},
          {"forward_flops_per_image", model.flops_per_image}};
}

}  // namespace dltrain::model
