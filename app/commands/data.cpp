// `dltrain data fetch|verify <dataset>`: CLI wiring only; the download and checksum logic is in data/fetch.cpp.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "commands.hpp"
#include "dltrain/core/error.hpp"
#include "dltrain/data/datasets.hpp"
#include "dltrain/data/fetch.hpp"

namespace dltrain::app {
namespace {

struct DataOptions {
  std::string dataset;               // mnist | fashion-mnist
  std::string root;                  // empty: $DLTRAIN_DATA_DIR/<dataset>, else data/<dataset>
  std::vector<std::string> mirrors;  // fetch: replaces the dataset's own mirrors, tried in order
  long timeout_seconds = 120;        // fetch: per file and mirror
  bool json = false;                 // verify: one JSON object on stdout
};

// The same default place that training looks first, so that `data fetch` then `train` needs no flags.
std::filesystem::path resolve_root(const DataOptions& options) {
  if (!options.root.empty()) return options.root;
  if (const char* env = std::getenv("DLTRAIN_DATA_DIR"); env != nullptr && *env != '\0') {
    return std::filesystem::path(env) / options.dataset;
  }
  return std::filesystem::path("data") / options.dataset;
}

int run_fetch(const DataOptions& options) {
  const data::DatasetInfo& info = data::dataset_info(options.dataset);
  const std::filesystem::path root = resolve_root(options);
  data::FetchOptions fetch;
  fetch.mirrors = options.mirrors;
  fetch.timeout_seconds = options.timeout_seconds;
  data::fetch_dataset(info, root, fetch);
  std::cout << info.name << ": all " << info.files.size() << " files verified in " << root.string() << "\n";
  return kExitOk;
}

std::string status_of(const data::FileCheck& check) {
  if (!check.present) return "MISSING";
  if (check.ok) return "OK";
  return check.path.extension() == ".gz" ? "MISMATCH" : "RAW";
}

int run_verify(const DataOptions& options) {
  const data::DatasetInfo& info = data::dataset_info(options.dataset);
  const std::filesystem::path root = resolve_root(options);
  const std::vector<data::FileCheck> checks = data::verify_dataset(info, root);
  size_t failed = 0;
  for (const auto& check : checks) failed += check.ok ? 0 : 1;

  if (options.json) {
    nlohmann::json files = nlohmann::json::array();
    for (const auto& check : checks) {
      files.push_back({{"name", check.name},
                       {"path", check.path.string()},
                       {"status", status_of(check)},
                       {"present", check.present},
                       {"ok", check.ok},
                       {"expected", check.expected},
                       {"actual", check.actual}});
    }
    const nlohmann::json out = {{"dataset", info.name}, {"root", root.string()}, {"ok", failed == 0}, {"files", files}};
    std::cout << out.dump(2) << "\n";
    return failed == 0 ? kExitOk : kExitData;
  }

  for (const auto& check : checks) {
    const std::string status = status_of(check);
    std::printf("%-8s  %s\n", status.c_str(), check.path.string().c_str());
    if (status == "OK") {
      std::printf("          sha256 %s\n", check.actual.c_str());
    } else if (status == "MISSING") {
      std::printf("          expected %s\n", check.expected.c_str());
    } else {
      std::printf("          got      %s\n          expected %s\n", check.actual.c_str(), check.expected.c_str());
    }
  }
  std::fflush(stdout);
  if (failed == 0) {
    std::cout << info.name << ": all " << checks.size() << " files verified in " << root.string() << "\n";
    return kExitOk;
  }
  std::cerr << "error: " << info.name << ": " << failed << " of " << checks.size() << " files in " << root.string()
            << " are missing or fail their checksum\n"
            << "hint: run `dltrain data fetch " << info.name << " --root " << root.string()
            << "` to download them again\n";
  return kExitData;
}

}  // namespace

Command register_data(CLI::App& parent) {
  auto options = std::make_shared<DataOptions>();
  CLI::App* data = parent.add_subcommand("data", "Download datasets and verify their checksums");
  data->require_subcommand(1);

  CLI::App* fetch = data->add_subcommand(
      "fetch", "Download a dataset's files that are missing or corrupt, verifying each SHA-256 before keeping it");
  fetch->add_option("dataset", options->dataset, "mnist or fashion-mnist")->required();
  fetch->add_option("--root", options->root,
                    "Folder to download into (default: $DLTRAIN_DATA_DIR/<dataset> or data/<dataset>)");
  // One URL per --mirror, so that `--mirror URL mnist` cannot swallow the dataset name.
  fetch
      ->add_option("--mirror", options->mirrors,
                   "Base URL to download from instead of the built-in mirrors; repeat to try several in order "
                   "(http://, https:// or file:///folder/)")
      ->allow_extra_args(false);
  fetch->add_option("--timeout", options->timeout_seconds, "Seconds allowed per file and mirror")
      ->capture_default_str()
      ->check(CLI::Range(1L, 86400L));

  CLI::App* verify = data->add_subcommand("verify", "Check a dataset's files against their published SHA-256 sums");
  verify->add_option("dataset", options->dataset, "mnist or fashion-mnist")->required();
  verify->add_option("--root", options->root,
                     "Folder holding the files (default: $DLTRAIN_DATA_DIR/<dataset> or data/<dataset>)");
  verify->add_flag("--json", options->json, "Print one JSON object with the per-file results");

  return {data, [options, fetch]() { return fetch->parsed() ? run_fetch(*options) : run_verify(*options); }};
}

}  // namespace dltrain::app
