// ONNX export (see onnx_export.hpp): one node (or a few) per layer, from the built modules, as python_layer does.
#include "dltrain/export/onnx_export.hpp"

#include <onnx/onnx_pb.h>

#include <cmath>

#include "dltrain/core/error.hpp"
#include "dltrain/core/fs.hpp"
#include "dltrain/core/torch_compat.hpp"

namespace dltrain::exporter {
namespace {

namespace nn = torch::nn;

class Graph {
 public:
  explicit Graph(onnx::GraphProto* g) : g_(g) {}

  std::string constant(const std::string& name, const torch::Tensor& t) {
    onnx::TensorProto* p = g_->add_initializer();
    p->set_name(name);
    p->set_data_type(onnx::TensorProto::FLOAT);
    for (const int64_t d : t.sizes()) p->add_dims(d);
    const torch::Tensor c = t.detach().to(torch::kFloat).contiguous().cpu();
    p->set_raw_data(std::string(static_cast<const char*>(c.data_ptr()), static_cast<size_t>(c.numel()) * sizeof(float)));
    return name;
  }
  std::string scalar(const std::string& name, double v) { return constant(name, torch::tensor(static_cast<float>(v))); }

  // A node `op` on `inputs`; returns its output's name.
  onnx::NodeProto* node(const std::string& op, const std::vector<std::string>& inputs, const std::string& output) {
    onnx::NodeProto* n = g_->add_node();
    n->set_op_type(op);
    n->set_name(output);
    for (const std::string& i : inputs) n->add_input(i);
    n->add_output(output);
    return n;
  }

 private:
  onnx::GraphProto* g_;
};

void ints(onnx::NodeProto* n, const std::string& name, const std::vector<int64_t>& values) {
  onnx::AttributeProto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (const int64_t v : values) a->add_ints(v);
}
void real(onnx::NodeProto* n, const std::string& name, double value) {
  onnx::AttributeProto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(static_cast<float>(value));
}
void integer(onnx::NodeProto* n, const std::string& name, int64_t value) {
  onnx::AttributeProto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(value);
}
void window(onnx::NodeProto* n, const torch::ExpandingArray<2>& k, const torch::ExpandingArray<2>& s,
            const torch::ExpandingArray<2>& p) {
  ints(n, "kernel_shape", {(*k)[0], (*k)[1]});
  ints(n, "strides", {(*s)[0], (*s)[1]});
  ints(n, "pads", {(*p)[0], (*p)[1], (*p)[0], (*p)[1]});
}

// The nodes of layer `name` on input `x`; returns the layer's output name.
std::string layer(Graph& g, const std::string& name, nn::Module& m, const std::string& x) {
  const std::string y = "layer" + name;
  const auto param = [&](const char* p) { return g.constant(name + "." + p, *m.named_parameters(false).find(p)); };
  const auto buffer = [&](const char* b) { return g.constant(name + "." + b, *m.named_buffers(false).find(b)); };
  if (auto* c = dynamic_cast<nn::Conv2dImpl*>(&m)) {
    std::vector<std::string> in = {x, param("weight")};
    if (c->options.bias()) in.push_back(param("bias"));
    window(g.node("Conv", in, y), c->options.kernel_size(), c->options.stride(), compat::conv_padding(c->options));
  } else if (auto* l = dynamic_cast<nn::LinearImpl*>(&m)) {
    std::vector<std::string> in = {x, param("weight")};
    if (l->options.bias()) in.push_back(param("bias"));
    integer(g.node("Gemm", in, y), "transB", 1);
  } else if (auto* p = dynamic_cast<nn::MaxPool2dImpl*>(&m)) {
    window(g.node("MaxPool", {x}, y), p->options.kernel_size(), p->options.stride(), p->options.padding());
  } else if (auto* a = dynamic_cast<nn::AvgPool2dImpl*>(&m)) {
    onnx::NodeProto* n = g.node("AveragePool", {x}, y);
    window(n, a->options.kernel_size(), a->options.stride(), a->options.padding());
    integer(n, "count_include_pad", a->options.count_include_pad() ? 1 : 0);
  } else if (dynamic_cast<nn::BatchNorm1dImpl*>(&m) != nullptr || dynamic_cast<nn::BatchNorm2dImpl*>(&m) != nullptr) {
    const double eps = dynamic_cast<nn::BatchNorm1dImpl*>(&m) != nullptr ? dynamic_cast<nn::BatchNorm1dImpl*>(&m)->options.eps()
                                                                         : dynamic_cast<nn::BatchNorm2dImpl*>(&m)->options.eps();
    real(g.node("BatchNormalization", {x, param("weight"), param("bias"), buffer("running_mean"), buffer("running_var")}, y),
         "epsilon", eps);
  } else if (dynamic_cast<nn::DropoutImpl*>(&m) != nullptr) {
    g.node("Identity", {x}, y);  // evaluation mode
  } else if (dynamic_cast<nn::FlattenImpl*>(&m) != nullptr) {
    integer(g.node("Flatten", {x}, y), "axis", 1);
  } else if (dynamic_cast<nn::ReLUImpl*>(&m) != nullptr) {
    g.node("Relu", {x}, y);
  } else if (dynamic_cast<nn::TanhImpl*>(&m) != nullptr) {
    g.node("Tanh", {x}, y);
  } else if (dynamic_cast<nn::SigmoidImpl*>(&m) != nullptr) {
    g.node("Sigmoid", {x}, y);
  } else if (auto* r = dynamic_cast<nn::LeakyReLUImpl*>(&m)) {
    real(g.node("LeakyRelu", {x}, y), "alpha", r->options.negative_slope());
  } else if (dynamic_cast<nn::GELUImpl*>(&m) != nullptr) {  // x * 0.5 * (1 + erf(x / sqrt 2)): Gelu is opset 20
    g.node("Div", {x, g.scalar(y + ".sqrt2", std::sqrt(2.0))}, y + ".scaled");
    g.node("Erf", {y + ".scaled"}, y + ".erf");
    g.node("Add", {y + ".erf", g.scalar(y + ".one", 1.0)}, y + ".plus1");
    g.node("Mul", {x, y + ".plus1"}, y + ".times");
    g.node("Mul", {y + ".times", g.scalar(y + ".half", 0.5)}, y);
  } else {
    throw CheckpointError("layer " + name + " (" + m.name() + ") cannot be expressed in ONNX by dltrain's exporter",
                          "export supports conv2d, linear, pooling, batchnorm, dropout, flatten and the activations");
  }
  return y;
}

// Per-channel values as a [C, 1, 1] tensor, which broadcasts over [N, C, H, W].
torch::Tensor per_channel(const std::vector<double>& values) {
  return torch::tensor(values, torch::kDouble).view({-1, 1, 1});
}

void tensor_value(onnx::ValueInfoProto* v, const std::string& name, const std::vector<int64_t>& dims) {
  v->set_name(name);
  onnx::TypeProto_Tensor* t = v->mutable_type()->mutable_tensor_type();
  t->set_elem_type(onnx::TensorProto::FLOAT);
  t->mutable_shape()->add_dim()->set_dim_param("N");  // any batch size
  for (const int64_t d : dims) t->mutable_shape()->add_dim()->set_dim_value(d);
}

}  // namespace

void export_onnx(nn::Sequential& net, const data::Description& dataset, const std::string& source,
                 const std::filesystem::path& out) {
  onnx::ModelProto model;
  model.set_ir_version(7);  // ONNX 1.8+ readers, opset 13
  model.set_producer_name("dltrain");
  model.set_producer_version(DLTRAIN_VERSION);
  model.set_doc_string("exported from " + source);
  onnx::OperatorSetIdProto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(13);
  onnx::StringStringEntryProto* classes = model.add_metadata_props();
  classes->set_key("classes");
  classes->set_value(nlohmann::json(dataset.class_names).dump());
  onnx::StringStringEntryProto* normalise = model.add_metadata_props();
  normalise->set_key("input");
  normalise->set_value("pixels: float [N, C, H, W] in 0..255 as the dataset stores them; the graph normalises them");
  onnx::GraphProto* graph = model.mutable_graph();
  graph->set_name("dltrain_" + dataset.name);
  Graph g(graph);
  tensor_value(graph->add_input(), "pixels", dataset.image_shape);
  g.node("Div", {"pixels", g.scalar("255", 255.0)}, "scaled");
  g.node("Sub", {"scaled", g.constant("mean", per_channel(dataset.mean))}, "centred");
  std::string x = g.node("Div", {"centred", g.constant("std", per_channel(dataset.std))}, "normalised")->output(0);
  for (const auto& child : net->named_children()) x = layer(g, child.key(), *child.value(), x);
  graph->mutable_node(graph->node_size() - 1)->set_output(0, "logits");
  tensor_value(graph->add_output(), "logits", {static_cast<int64_t>(dataset.class_names.size())});
  std::string bytes;
  if (!model.SerializeToString(&bytes)) throw IoError(out.string() + ": the ONNX model could not be serialised");
  std::error_code ec;
  if (!out.parent_path().empty()) std::filesystem::create_directories(out.parent_path(), ec);
  fs::atomic_write(out, bytes);
}

}  // namespace dltrain::exporter
