// `dltrain config validate|show`: report every problem of a config at once, or print it resolved.
#include <iostream>

#include "commands/commands.hpp"
#include "dltrain/config/config.hpp"
#include "dltrain/core/error.hpp"
#include "dltrain/data/datasets.hpp"
#include "dltrain/model/model.hpp"

namespace dltrain::app {
namespace {

struct ConfigOptions {
  std::string config;
  std::vector<std::string> overrides;
};

// Validation builds the model too, so shape errors (a kernel larger than its input) show up here. An image_folder's
// class count comes from the class folders under data.root (listed, not read).
config::Config validate(const ConfigOptions& o) {
  config::Config c = config::load(o.config, o.overrides);
  const data::Description d = data::outline(c.data).desc;
  model::build(c.model, d.image_shape, d.num_classes());
  return c;
}

}  // namespace

Command register_config(CLI::App& parent) {
  auto o = std::make_shared<ConfigOptions>();
  CLI::App* app = parent.add_subcommand("config", "Validate a config or print it fully resolved");
  app->require_subcommand(1);
  for (const char* verb : {"validate", "show"}) {
    CLI::App* sub = app->add_subcommand(verb, std::string(verb) == "validate"
                                                  ? "Check a config; print every problem with its JSON path"
                                                  : "Print the resolved config (defaults, file and --set merged)");
    sub->add_option("-c,--config", o->config, "JSON config file")->required();
    sub->add_option("--set", o->overrides, "Override a config value: key.path=value (repeatable)");
  }
  return {app, [o, app] {
            const config::Config c = validate(*o);
            if (app->got_subcommand("show")) {
              std::cout << config::to_json(c).dump(2) << std::endl;
            } else {
              std::cout << o->config << ": OK\n";
            }
            return kExitOk;
          }};
}

}  // namespace dltrain::app
