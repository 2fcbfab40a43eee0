// state_dict export and the generated model.py (see export.hpp).
#include "dltrain/export/export.hpp"

#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/jit/serialization/export.h>
#include <torch/csrc/jit/serialization/pickler.h>

#include "dltrain/core/error.hpp"
#include "dltrain/core/format.hpp"
#include "dltrain/core/fs.hpp"
#include "dltrain/core/torch_compat.hpp"

namespace dltrain::exporter {
namespace {

namespace nn = torch::nn;

long long at0(const torch::ExpandingArray<2>& a) { return static_cast<long long>((*a)[0]); }
const char* py_bool(bool b) { return b ? "True" : "False"; }

// (0.1307,) or (0.4914, 0.4822, 0.4465): every digit a double holds.
std::string python_tuple(const std::vector<double>& values) {
  std::string out;
  for (const double v : values) out += (out.empty() ? "" : ", ") + format("%.17g", v);
  return "(" + out + (values.size() == 1 ? ",)" : ")");
}

std::string window(const torch::ExpandingArray<2>& kernel, const torch::ExpandingArray<2>& stride,
                   const torch::ExpandingArray<2>& padding) {
  return format("%lld, stride=%lld, padding=%lld", at0(kernel), at0(stride), at0(padding));
}

// torch.save's zip format, as torch::pickle_save writes it but without its type tags on dicts: those call
// torch.jit._pickle.restore_type_tag, which torch.load refuses by default since PyTorch 2.6 (weights_only=True).
std::string torch_save_format(const c10::IValue& value) {
  std::vector<char> pickled;
  torch::jit::Pickler pickler([&](const char* data, size_t size) { pickled.insert(pickled.end(), data, data + size); },
                              nullptr, nullptr, nullptr, nullptr, /*tag_aggregates=*/false);
  pickler.protocol();
  pickler.pushIValue(value);
  pickler.stop();
  std::string out;
  caffe2::serialize::PyTorchStreamWriter writer([&](const void* data, size_t size) {
    out.append(static_cast<const char*>(data), size);
    return size;
  });
  torch::jit::writeArchiveAndTensors("data", pickled.data(), pickled.size(), pickler.tensorData(), writer);
  writer.writeEndOfFile();
  return out;
}

}  // namespace

std::string python_layer(const std::string& name, const nn::Module& m) {
  if (const auto* c = dynamic_cast<const nn::Conv2dImpl*>(&m)) {
    const auto& o = c->options;
    return format("nn.Conv2d(%lld, %lld, %s, bias=%s)", static_cast<long long>(o.in_channels()),
                  static_cast<long long>(o.out_channels()),
                  window(o.kernel_size(), o.stride(), compat::conv_padding(o)).c_str(),
                  py_bool(o.bias()));
  }
  if (const auto* l = dynamic_cast<const nn::LinearImpl*>(&m)) {
    return format("nn.Linear(%lld, %lld, bias=%s)", static_cast<long long>(l->options.in_features()),
                  static_cast<long long>(l->options.out_features()), py_bool(l->options.bias()));
  }
  if (const auto* p = dynamic_cast<const nn::MaxPool2dImpl*>(&m)) {
    return "nn.MaxPool2d(" + window(p->options.kernel_size(), p->options.stride(), p->options.padding()) + ")";
  }
  if (const auto* p = dynamic_cast<const nn::AvgPool2dImpl*>(&m)) {
    return "nn.AvgPool2d(" + window(p->options.kernel_size(), p->options.stride(), p->options.padding()) + ")";
  }
  if (const auto* b = dynamic_cast<const nn::BatchNorm1dImpl*>(&m)) {
    return format("nn.BatchNorm1d(%lld, eps=%g, momentum=%g)", static_cast<long long>(b->options.num_features()),
                  b->options.eps(), b->options.momentum().value_or(0.1));
  }
  if (const auto* b = dynamic_cast<const nn::BatchNorm2dImpl*>(&m)) {
    return format("nn.BatchNorm2d(%lld, eps=%g, momentum=%g)", static_cast<long long>(b->options.num_features()),
                  b->options.eps(), b->options.momentum().value_or(0.1));
  }
  if (const auto* d = dynamic_cast<const nn::DropoutImpl*>(&m)) return format("nn.Dropout(p=%g)", d->options.p());
  if (dynamic_cast<const nn::FlattenImpl*>(&m) != nullptr) return "nn.Flatten()";
  if (dynamic_cast<const nn::ReLUImpl*>(&m) != nullptr) return "nn.ReLU()";
  if (dynamic_cast<const nn::GELUImpl*>(&m) != nullptr) return "nn.GELU()";
  if (dynamic_cast<const nn::TanhImpl*>(&m) != nullptr) return "nn.Tanh()";
  if (dynamic_cast<const nn::SigmoidImpl*>(&m) != nullptr) return "nn.Sigmoid()";
  if (const auto* r = dynamic_cast<const nn::LeakyReLUImpl*>(&m)) {
    return format("nn.LeakyReLU(negative_slope=%g)", r->options.negative_slope());
  }
  throw CheckpointError("layer " + name + " (" + m.name() + ") has no Python equivalent in dltrain's exporter",
                        "export supports conv2d, linear, pooling, batchnorm, dropout, flatten and the activations");
}

std::string python_model(nn::Sequential& net, const data::Description& dataset, const std::string& source) {
  std::string layers;
  for (const auto& child : net->named_children()) {
    layers += "    " + python_layer(child.key(), *child.value()) + ",  # " + child.key() + "\n";
  }
  std::string classes;
  for (const std::string& c : dataset.class_names) classes += (classes.empty() ? "" : ", ") + nlohmann::json(c).dump();
  const auto& s = dataset.image_shape;
  return "# Generated by dltrain " DLTRAIN_VERSION " from " + source +
         ": the model as a PyTorch nn.Sequential.\n"
         "#   import torch\n"
         "#   from model import model, preprocess, CLASSES\n"
         "#   model.load_state_dict(torch.load(\"model.pt\"))  # the exported state_dict\n"
         "#   model.eval()\n"
         "#   logits = model(preprocess(images))  # images: uint8 [N, " +
         format("%lld, %lld, %lld", static_cast<long long>(s[0]), static_cast<long long>(s[1]), static_cast<long long>(s[2])) +
         "], " + dataset.name + "'s polarity\nimport torch\nfrom torch import nn\n\nDATASET = " + nlohmann::json(dataset.name).dump() +
         "\nCLASSES = [" + classes + "]\n" +
         format("INPUT_SHAPE = (%lld, %lld, %lld)\n", static_cast<long long>(s[0]), static_cast<long long>(s[1]),
                static_cast<long long>(s[2])) +
         "MEAN = " + python_tuple(dataset.mean) + "  # per channel, of pixels scaled to [0, 1]\nSTD = " +
         python_tuple(dataset.std) + "\n\n"
         "\ndef preprocess(images):\n    \"\"\"uint8 pixels [N, C, H, W] -> the normalised float input dltrain trained on.\"\"\"\n"
         "    mean = torch.tensor(MEAN).view(1, -1, 1, 1)\n    std = torch.tensor(STD).view(1, -1, 1, 1)\n"
         "    return (images.float() / 255.0 - mean) / std\n\n\nmodel = nn.Sequential(\n" +
         layers + ")\n";
}

std::filesystem::path export_state_dict(nn::Sequential& net, const data::Description& dataset, const std::string& source,
                                        const std::filesystem::path& out) {
  const std::string code = python_model(net, dataset, source);  // refuses what it cannot express, before writing
  c10::Dict<std::string, torch::Tensor> state;
  for (const auto& child : net->named_children()) {  // Python's order: each layer's parameters, then its buffers
    for (const auto& p : child.value()->named_parameters(false)) {
      state.insert(child.key() + "." + p.key(), p.value().detach().cpu().contiguous());
    }
    for (const auto& b : child.value()->named_buffers(false)) {
      state.insert(child.key() + "." + b.key(), b.value().detach().cpu().contiguous());
    }
  }
  const std::string bytes = torch_save_format(c10::IValue(state));
  std::error_code ec;
  if (!out.parent_path().empty()) std::filesystem::create_directories(out.parent_path(), ec);  // as `train --out` does
  fs::atomic_write(out, bytes);
  const std::filesystem::path model_py = out.parent_path() / "model.py";
  fs::atomic_write(model_py, code);
  return model_py;
}

}  // namespace dltrain::exporter
