// `dltrain doctor [--json] [--require cuda]`: CLI wiring only; facts and checks are in src/dltrain/doctor.
#include <iostream>
#include <memory>

#include "commands.hpp"
#include "dltrain/config/vocabulary.hpp"
#include "dltrain/core/error.hpp"
#include "dltrain/data/datasets.hpp"
#include "dltrain/doctor/doctor.hpp"

namespace dltrain::app {
namespace {

struct DoctorOptions {
  doctor::Options checks;
  std::string require;
  bool json = false;
};

int run_doctor(DoctorOptions& o) {
  o.checks.require_cuda = o.require == "cuda";
  const doctor::Facts facts = doctor::gather(o.checks);
  const std::vector<doctor::Check> checks = doctor::run_checks(facts, o.checks);
  if (o.json) {
    std::cout << doctor::to_json(facts, checks).dump(2) << "\n";
  } else {
    std::cout << doctor::to_text(facts, checks);
  }
  std::cout.flush();
  return doctor::exit_code(checks);
}

}  // namespace

Command register_doctor(CLI::App& parent) {
  auto o = std::make_shared<DoctorOptions>();
  CLI::App* app = parent.add_subcommand(
      "doctor", "Check this machine for deep-learning speed: versions, driver, GPUs, BLAS, threads, allocator, data");
  app->add_flag("--json", o->json, "Print the facts and checks as one JSON object");
  app->add_option("--require", o->require, "Fail (exit 6) unless this is usable: cuda")->check(CLI::IsMember({"cuda"}));
  app->add_option("--dataset", o->checks.dataset, "Dataset whose files to look for and verify")
      ->capture_default_str()
      ->check(CLI::IsMember(data::downloadable_dataset_names()));
  app->add_option("--data-dir", o->checks.data_dir, "Folder holding the dataset's files (default: the usual search)");
  app->footer("Each check is PASS, WARN (slower than it could be), FAIL (broken) or SKIP (does not apply), with a fix.\n"
              "Exit 0 when nothing FAILs, 9 when a check FAILs, 6 when --require cuda is not met.\n"
              "NVML (libnvidia-ml.so.1) is loaded at run time; DLTRAIN_NVML_LIBRARY=PATH loads another file.");
  return {app, [o] { return run_doctor(*o); }};
}

}  // namespace dltrain::app
