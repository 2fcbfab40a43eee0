// The vocabulary tables (see vocabulary.hpp). Defaults follow PyTorch's where PyTorch has the same thing.
#include "dltrain/config/vocabulary.hpp"

namespace dltrain::config {

using nlohmann::json;

const Vocabulary<Optimizer>& optimizers() {
  static const json betas = json::array({0.9, 0.999});
  static const Vocabulary<Optimizer> table(
      "optimizer",
      {{"sgd", Optimizer::kSgd, "stochastic gradient descent, with optional (Nesterov) momentum",
        {{"lr", 0.01}, {"weight_decay", 0.0}, {"momentum", 0.0}, {"nesterov", false}}},
       {"adam", Optimizer::kAdam, "Adam (optionally AMSGrad); weight decay added to the gradient",
        {{"lr", 1e-3}, {"weight_decay", 0.0}, {"betas", betas}, {"eps", 1e-8}, {"amsgrad", false}}},
       {"adamw", Optimizer::kAdamW, "Adam with decoupled weight decay",
        {{"lr", 1e-3}, {"weight_decay", 0.01}, {"betas", betas}, {"eps", 1e-8}, {"amsgrad", false}}},
       {"rmsprop", Optimizer::kRmsProp, "RMSprop, with optional momentum",
        {{"lr", 0.01}, {"weight_decay", 0.0}, {"momentum", 0.0}, {"alpha", 0.99}, {"eps", 1e-8}}},
       {"adagrad", Optimizer::kAdagrad, "Adagrad, with optional learning-rate decay",
        {{"lr", 0.01}, {"weight_decay", 0.0}, {"lr_decay", 0.0}, {"eps", 1e-10}}},
       {"adadelta", Optimizer::kAdadelta, "Adadelta",
        {{"lr", 1.0}, {"weight_decay", 0.0}, {"rho", 0.9}, {"eps", 1e-6}}}});
  return table;
}

const Vocabulary<Scheduler>& schedulers() {
  static const Vocabulary<Scheduler> table(
      "scheduler",
      {{"constant", Scheduler::kConstant, "the optimizer's lr throughout", json::object()},
       {"step", Scheduler::kStep, "lr x gamma every step_size epochs", {{"step_size", 1}, {"gamma", 0.1}}},
       {"multistep", Scheduler::kMultiStep, "lr x gamma at each milestone epoch",
        {{"milestones", json::array()}, {"gamma", 0.1}}},
       {"exponential", Scheduler::kExponential, "lr x gamma every epoch", {{"gamma", 0.95}}},
       {"cosine", Scheduler::kCosine, "linear warm-up, then cosine decay to min_lr, every step",
        {{"warmup_epochs", 0.0}, {"min_lr", 0.0}, {"horizon_epochs", 0}}},
       {"onecycle", Scheduler::kOneCycle, "PyTorch's OneCycleLR (cosine): up to max_lr, then far below, every step",
        {{"max_lr", 0.0}, {"pct_start", 0.3}, {"div_factor", 25.0}, {"final_div_factor", 1e4}, {"horizon_epochs", 0}}}});
  return table;
}

const Vocabulary<Precision>& precisions() {
  static const Vocabulary<Precision> table(
      "precision",
      {{"fp32", Precision::kFp32, "float32 everywhere (TF32 off)"},
       {"tf32", Precision::kTf32, "CUDA: float32 matmuls and convolutions on TF32 tensor cores"},
       {"bf16", Precision::kBf16, "autocast: matmuls and convolutions in bfloat16, the rest in float32"},
       {"fp16", Precision::kFp16, "CUDA: autocast to float16 with dynamic loss scaling"},
       {"fp64", Precision::kFp64, "float64 everywhere, for reference runs"}});
  return table;
}

const Vocabulary<LayerType>& layer_types() {
  // null: a key without a default, which the config must give.
  static const json window = {{"kernel_size", nullptr}, {"stride", 0}, {"padding", 0}};
  static const Vocabulary<LayerType> table(
      "layer type",
      {{"linear", LayerType::kLinear, "fully connected; flattens an image input",
        {{"out_features", nullptr}, {"bias", true}}},
       {"conv2d", LayerType::kConv2d, "2-D convolution (stride 1 unless given)",
        {{"out_channels", nullptr}, {"kernel_size", nullptr}, {"stride", 0}, {"padding", 0}, {"bias", true}}},
       {"maxpool2d", LayerType::kMaxPool2d, "2-D max pooling (stride = kernel_size unless given)", window},
       {"avgpool2d", LayerType::kAvgPool2d, "2-D average pooling (stride = kernel_size unless given)", window},
       {"batchnorm1d", LayerType::kBatchNorm1d, "batch normalisation of features"},
       {"batchnorm2d", LayerType::kBatchNorm2d, "batch normalisation of channels"},
       {"dropout", LayerType::kDropout, "zeroes each input with probability p while training", {{"p", 0.5}}},
       {"flatten", LayerType::kFlatten, "image to features"},
       {"relu", LayerType::kReLU, "activation"},
       {"gelu", LayerType::kGELU, "activation"},
       {"tanh", LayerType::kTanh, "activation"},
       {"sigmoid", LayerType::kSigmoid, "activation"},
       {"leaky_relu", LayerType::kLeakyReLU, "activation", {{"negative_slope", 0.01}}}});
  return table;
}

const Vocabulary<ModelType>& model_types() {
  static const Vocabulary<ModelType> table(
      "model type",
      {{"mlp", ModelType::kMlp, "hidden linear layers with one activation (shorthand)",
        {{"hidden", json::array({128})}, {"activation", "relu"}, {"dropout", 0.0}}},
       {"layers", ModelType::kLayers, "an explicit list of layers", {{"layers", json::array()}}}});
  return table;
}

const Vocabulary<CudaGraphs>& cuda_graph_modes() {
  static const Vocabulary<CudaGraphs> table(
      "CUDA graphs mode",
      {{"auto", CudaGraphs::kAuto, "capture the training step wherever a graph works"},
       {"on", CudaGraphs::kOn, "capture it, or fail naming why not"},
       {"off", CudaGraphs::kOff, "launch every kernel eagerly"}});
  return table;
}

const Vocabulary<DistBackend>& distributed_backends() {
  static const Vocabulary<DistBackend> table(
      "distributed backend",
      {{"auto", DistBackend::kAuto, "NCCL for CUDA devices, Gloo for the CPU"},
       {"gloo", DistBackend::kGloo, "c10d's Gloo: TCP between processes, CPU tensors"},
       {"nccl", DistBackend::kNccl, "c10d's NCCL: NVIDIA GPUs (a CUDA build of LibTorch)"}});
  return table;
}

bool is_activation(LayerType type) {
  switch (type) {
    case LayerType::kReLU:
    case LayerType::kGELU:
    case LayerType::kTanh:
    case LayerType::kSigmoid:
    case LayerType::kLeakyReLU:
      return true;
    default:
      return false;
  }
}

}  // namespace dltrain::config
