// Config values that differ from the defaults (see defaults.hpp).
#include "dltrain/config/defaults.hpp"

#include "dltrain/config/vocabulary.hpp"

namespace dltrain::config {

std::vector<std::string> changed_from_defaults(const Config& c) {
  const nlohmann::json names = {{"optimizer", {{"name", optimizers().name(c.train.optimizer.name)}}},
                                 {"scheduler", {{"name", schedulers().name(c.train.scheduler.name)}}}};
  const nlohmann::json defaults = to_json(parse({{"train", names}}, "defaults")).flatten();
  const nlohmann::json flat = to_json(c).flatten();
  std::vector<std::string> keys;
  for (auto it = flat.begin(); it != flat.end(); ++it) {
    if (it.key().rfind("/model/", 0) == 0 || defaults.value(it.key(), nlohmann::json()) == it.value()) continue;
    keys.push_back(it.key());
  }
  return keys;
}

}  // namespace dltrain::config
