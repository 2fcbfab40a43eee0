// `dltrain export`: a checkpoint's model for use outside dltrain (see src/dltrain/export/export.hpp).
#include <iostream>

#include "commands/commands.hpp"
#include "dltrain/core/error.hpp"
#include "dltrain/core/log.hpp"
#include "dltrain/data/datasets.hpp"
#include "dltrain/export/export.hpp"
#include "dltrain/export/onnx_export.hpp"
#include "dltrain/train/checkpoint.hpp"

namespace dltrain::app {
namespace {

struct ExportOptions {
  std::string checkpoint, format = "state_dict", out;
};

int run_export(const ExportOptions& o) {
  train::LoadedCheckpoint ckpt = train::load_checkpoint(o.checkpoint);
  const data::Description& info = ckpt.data;  // what the model was trained on
  if (o.format == "onnx") {
    exporter::export_onnx(ckpt.model.net, info, o.checkpoint, o.out);
    std::cout << o.out << std::endl;
    log::info("input \"pixels\": float [N, " + std::to_string(info.image_shape[0]) + ", " +
              std::to_string(info.image_shape[1]) + ", " + std::to_string(info.image_shape[2]) +
              "] in 0..255 (normalised inside the graph); output \"logits\"; class names in the metadata");
    return kExitOk;
  }
  const std::filesystem::path model_py = exporter::export_state_dict(ckpt.model.net, info, o.checkpoint, o.out);
  std::cout << o.out << "\n" << model_py.string() << std::endl;
  log::info("in Python: from model import model, preprocess; model.load_state_dict(torch.load(\"" +
            std::filesystem::path(o.out).filename().string() + "\")); model.eval()");
  return kExitOk;
}

}  // namespace

Command register_export(CLI::App& parent) {
  auto o = std::make_shared<ExportOptions>();
  CLI::App* app = parent.add_subcommand("export", "Export a checkpoint's model for use outside dltrain");
  app->add_option("--checkpoint", o->checkpoint, "Checkpoint file, e.g. runs/mnist_cnn/checkpoints/best.pt")->required();
  app->add_option("--format", o->format,
                  "state_dict: a torch.load-able dict of tensors plus a generated model.py defining the nn.Sequential; "
                  "onnx: an ONNX model (opset 13, dynamic batch, normalisation inside)")
      ->capture_default_str()
      ->check(CLI::IsMember({"state_dict", "onnx"}));
  app->add_option("--out", o->out, "Output file, e.g. model.pt (model.py is written beside it)")->required();
  app->footer("TorchScript is not offered: LibTorch's C++ modules cannot be scripted or traced into a module that\n"
              "Python's torch.jit.load runs (README: Using a model outside dltrain).");
  return {app, [o] { return run_export(*o); }};
}

}  // namespace dltrain::app
