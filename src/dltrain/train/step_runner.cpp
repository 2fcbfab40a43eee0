// Eager steps, and the CUDA graph capture: warm-up on a side stream, capture there, replay on the current stream.
#include "dltrain/train/step_runner.hpp"

#include "dltrain/core/error.hpp"
#include "dltrain/core/torch_compat.hpp"

#ifdef DLTRAIN_WITH_CUDA
#include <ATen/cuda/CUDAEvent.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace dltrain::train {

GraphChoice choose_cuda_graphs(config::CudaGraphs setting, const torch::Device& device, Precision precision) {
  if (setting == config::CudaGraphs::kOff) return {false, "train.cuda_graphs=off"};
  std::string why_not;
  if (!device.is_cuda() || !compat::kHasCudaBuild) {
    why_not = "CUDA graphs need a CUDA device and the device is " + device.str();
  } else if (precision == Precision::kFp16) {
    why_not = "fp16 loss scaling decides on the host whether each step is taken";
  }
  if (why_not.empty()) return {true, ""};
  if (setting == config::CudaGraphs::kOn) {
    throw ConfigError("/train/cuda_graphs: on, but " + why_not, "set train.cuda_graphs to auto (or off)");
  }
  return {false, why_not};
}

#ifdef DLTRAIN_WITH_CUDA
namespace {

// Captures into `graph` for its lifetime with the autocast cache off (cached casts would be freed while the graph
// still uses them). When an exception cuts the capture short, the destructor still tries to end it so that the
// error reaches the user intact; the process's CUDA state is not to be trusted afterwards (train and bench stop).
class Capture {
 public:
  explicit Capture(at::cuda::CUDAGraph& graph) : graph_(graph), cache_(at::autocast::is_autocast_cache_enabled()) {
    at::autocast::set_autocast_cache_enabled(false);
    try {
      graph_.capture_begin();
    } catch (...) {
      at::autocast::set_autocast_cache_enabled(cache_);
      throw;
    }
  }
  ~Capture() {
    if (!ended_) {
      try {
        graph_.capture_end();
      } catch (const std::exception&) {
        // The capture was already invalid: the error that cut it short is the one to report.
      }
    }
    at::autocast::set_autocast_cache_enabled(cache_);
  }
  Capture(const Capture&) = delete;
  Capture& operator=(const Capture&) = delete;
  void end() {
    ended_ = true;
    graph_.capture_end();
  }

 private:
  at::cuda::CUDAGraph& graph_;
  bool cache_;
  bool ended_ = false;
};

}  // namespace
#endif

struct StepRunner::Graph {
  torch::Tensor indices;  // the static input: the batch's positions in the split, refilled before each replay
  StepOutput out;         // the static outputs
  int steps = 0;          // steps run so far
#ifdef DLTRAIN_WITH_CUDA
  explicit Graph(const torch::Device& device) : side(c10::cuda::getStreamFromPool(false, device.index())) {}
  c10::cuda::CUDAStream side;
  at::cuda::CUDAGraph graph;
#else
  explicit Graph(const torch::Device&) {}
#endif
};

StepRunner::StepRunner(torch::nn::Sequential net, torch::optim::Optimizer& optimizer, const StepSettings& settings,
                       const data::Split& train, int64_t batch_size, const data::Normalizer& normalize,
                       const data::Augmenter& augment, bool cuda_graphs, int rank, int workers)
    : net_(std::move(net)),
      optimizer_(optimizer),
      settings_(settings),
      train_(train),
      batch_size_(batch_size),
      local_batch_(batch_size / workers),
      slice_offset_(rank * (batch_size / workers)),
      normalize_(normalize),
      augment_(augment) {
  if (settings_.precision == Precision::kFp16) {
    scaler_.emplace(settings_.device);
    settings_.scaler = &*scaler_;
  }
  if (!cuda_graphs) return;
  if (!compat::kHasCudaBuild || !settings_.device.is_cuda()) {
    throw DeviceError("CUDA graphs need a CUDA build and device", "set train.cuda_graphs=off");
  }
  graph_ = std::make_unique<Graph>(settings_.device);
  graph_->indices = torch::empty({local_batch_}, torch::TensorOptions().device(settings_.device).dtype(torch::kInt64));
}

StepRunner::~StepRunner() = default;

data::Batch StepRunner::batch(const torch::Tensor& indices) const {
  data::Batch b = data::train_batch(train_, indices, 0, local_batch_, normalize_);
  b.images = augment_(b.images);
  return b;
}

StepOutput StepRunner::run(const torch::Tensor& order, int64_t b) {
  const int64_t begin = b * batch_size_ + slice_offset_;
  const torch::Tensor slice = order.slice(0, begin, begin + local_batch_);
  if (!graph_) {
    return train_step(net_, optimizer_, batch(slice), settings_);
  }
#ifdef DLTRAIN_WITH_CUDA
  Graph& g = *graph_;
  g.indices.copy_(slice);
  if (g.steps > kWarmupSteps) {
    g.graph.replay();
    ++g.steps;
    return g.out;
  }
  // Warm-up and capture on a side stream (capture cannot use the default stream), ordered after the copy above.
  const c10::cuda::CUDAStream current = c10::cuda::getCurrentCUDAStream(settings_.device.index());
  at::cuda::CUDAEvent ready;
  ready.record(current);
  ready.block(g.side);
  {
    const c10::cuda::CUDAStreamGuard on_side(g.side);
    const auto step = [&] {
      return train_step(net_, optimizer_, batch(g.indices), settings_);
    };
    if (g.steps < kWarmupSteps) {
      g.out = step();
    } else {
      net_->zero_grad(true);  // the gradients are then allocated in the graph's own memory pool
      try {
        Capture capture(g.graph);
        g.out = step();
        capture.end();
      } catch (const std::exception& e) {
        throw DeviceError(std::string("capturing the training step in a CUDA graph failed: ") + e.what(),
                          "set train.cuda_graphs=off to train eagerly");
      }
    }
  }
  at::cuda::CUDAEvent done;
  done.record(g.side);
  done.block(current);
  if (g.steps == kWarmupSteps) g.graph.replay();  // the capture only recorded the step: this replay trains
  ++g.steps;
  return g.out;
#else
  return {};
#endif
}

}  // namespace dltrain::train
