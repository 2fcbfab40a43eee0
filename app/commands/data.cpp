// `dltrain data fetch|verify <dataset>`: CLI wiring only; the download and checksum logic is in data/fetch.cpp.
#include <algorithm>
#include <cstdio>
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
  std::string dataset;               // a name from the dataset table
  std::string root;                  // empty: the folder training reads (see resolve_root)
  std::vector<std::string> mirrors;  // fetch: replaces the dataset's own mirrors, tried in order
  long timeout_seconds = 120;        // fetch: per file and mirror
  bool json = false;                 // one JSON object on stdout
};

// The folder training reads, so that `data fetch` then `train` needs no flags: the first place on the
// search path that holds all the dataset's files, else the first place (where fetch downloads to).
std::filesystem::path resolve_root(const DataOptions& options, const data::DatasetInfo& info) {
  const std::vector<std::filesystem::path> roots = data::candidate_roots(info, options.root);
  for (const auto& root : roots) {
    if (std::all_of(info.files.begin(), info.files.end(),
                    [&](const data::DataFile& f) { return std::filesystem::exists(data::data_file(root, f)); })) {
      return root;
    }
  }
  return roots.front();
}

nlohmann::json fetch_json(const data::DatasetInfo& info, const std::filesystem::path& root,
                          const std::vector<data::FileFetch>& results, bool ok) {
  nlohmann::json files = nlohmann::json::array();
  for (const auto& r : results) {
    nlohmann::json failures = nlohmann::json::array();
    for (const auto& a : r.failures) {
      failures.push_back({{"mirror", a.mirror}, {"url", a.url}, {"tried", a.tried}, {"reason", a.reason}});
      if (!a.detail.empty()) failures.back()["detail"] = a.detail;
    }
    nlohmann::json file = {{"name", r.name}, {"path", r.path.string()}, {"status", r.status},
                           {"ok", r.status != "failed"}, {"failures", failures}};
    if (r.status == "downloaded") file.update({{"url", r.url}, {"bytes", r.bytes}, {"seconds", r.seconds}});
    files.push_back(file);
  }
  return {{"dataset", info.name}, {"root", root.string()}, {"ok", ok}, {"files", files}};
}

// The table row of a dataset that has files; image_folder has none.
const data::DatasetInfo& downloadable(const std::string& name) {
  const data::DatasetInfo& info = data::dataset_info(name);
  if (info.files.empty()) {
    throw UsageError(name + " has no files to download or verify: it reads the folder data.root names",
                     "datasets with files: " + nlohmann::json(data::downloadable_dataset_names()).dump());
  }
  return info;
}

int run_fetch(const DataOptions& options) {
  const data::DatasetInfo& info = downloadable(options.dataset);
  const std::filesystem::path root = resolve_root(options, info);
  data::FetchOptions fetch;
  fetch.mirrors = options.mirrors;
  fetch.timeout_seconds = options.timeout_seconds;
  std::vector<data::FileFetch> results;
  try {
    data::fetch_dataset(info, root, fetch, &results);
  } catch (const Error&) {
    if (options.json) std::cout << fetch_json(info, root, results, false).dump(2) << std::endl;
    throw;
  }
  if (options.json) {
    std::cout << fetch_json(info, root, results, true).dump(2) << std::endl;
  } else {
    std::cout << info.name << ": all " << info.files.size() << " files verified in " << root.string() << "\n";
  }
  return kExitOk;
}

std::string status_of(const data::FileCheck& check) {
  if (!check.present) return "MISSING";
  if (check.ok) return "OK";
  return check.path.extension() == ".gz" ? "MISMATCH" : "RAW";
}

int run_verify(const DataOptions& options) {
  const data::DatasetInfo& info = downloadable(options.dataset);
  const std::filesystem::path root = resolve_root(options, info);
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
  std::string dataset_help = "One of:";
  for (const std::string& name : data::downloadable_dataset_names()) dataset_help += " " + name;
  fetch->add_option("dataset", options->dataset, dataset_help)->required();
  fetch->add_option("--root", options->root,
                    "Folder to download into (default: the one train reads: the first of $DLTRAIN_DATA_DIR/<dataset>, "
                    "data/<dataset>, /usr/share/datasets/<dataset> that holds the files, else the first)");
  // One URL per --mirror, so that `--mirror URL mnist` cannot swallow the dataset name.
  fetch
      ->add_option("--mirror", options->mirrors,
                   "Base URL to download from instead of the built-in mirrors; repeat to try several in order "
                   "(http://, https:// or file:///folder/)")
      ->allow_extra_args(false);
  fetch->add_option("--timeout", options->timeout_seconds, "Seconds allowed per file and mirror")
      ->capture_default_str()
      ->check(CLI::Range(1L, 86400L));
  fetch->add_flag("--json", options->json, "Print one JSON object with the per-file results");

  CLI::App* verify = data->add_subcommand("verify", "Check a dataset's files against their published SHA-256 sums");
  verify->add_option("dataset", options->dataset, dataset_help)->required();
  verify->add_option("--root", options->root,
                     "Folder holding the files (default: the one train reads, see data fetch --help)");
  verify->add_flag("--json", options->json, "Print one JSON object with the per-file results");

  return {data, [options, fetch]() { return fetch->parsed() ? run_fetch(*options) : run_verify(*options); }};
}

}  // namespace dltrain::app
