#include "master/config_file.hpp"

#include <toml++/toml.h>

#include <CLI/CLI.hpp>
#include <sstream>
#include <stdexcept>

namespace loads::master {
namespace {

class TomlConfig : public CLI::Config {
 public:
  explicit TomlConfig(const CLI::App& app) : app_(app) {}

  std::string to_config(const CLI::App*, bool, bool, std::string) const override { return ""; }

  std::vector<CLI::ConfigItem> from_config(std::istream& in) const override {
    std::stringstream text;
    text << in.rdbuf();
    const std::string file = fileName();
    toml::table table;
    try {
      table = toml::parse(text.str(), file);
    } catch (const toml::parse_error& e) {
      throw std::invalid_argument(file + ":" + std::to_string(e.source().begin.line) +
                                  ": not TOML: " + std::string(e.description()));
    }
    std::vector<CLI::ConfigItem> items;
    for (auto&& [key, node] : table) {
      const std::string name(key.str());
      auto fail = [&](const std::string& what) {
        throw std::invalid_argument(file + ":" + std::to_string(node.source().begin.line) +
                                    ": key '" + name + "' " + what);
      };
      if (node.is_table()) fail("is a [section]: write every option at the top level, key = value");
      const CLI::Option* option = find(name);
      if (!option) fail("is not a loads-master option (see loads-master --help)");
      CLI::ConfigItem item;
      item.name = name;
      if (option->get_expected_min() == 0) {  // a flag
        if (!node.is_boolean()) fail("is a flag: give true or false");
        item.inputs = {*node.value<bool>() ? "true" : "false"};
      } else if (const toml::array* list = node.as_array()) {
        if (option->get_items_expected_max() <= 1) fail("takes one value, not a list");
        for (const toml::node& element : *list)
          item.inputs.push_back(scalar(element, *option, fail));
      } else {
        item.inputs = {scalar(node, *option, fail)};
      }
      items.push_back(std::move(item));
    }
    return items;
  }

 private:
  std::string fileName() const {
    const CLI::Option* config = app_.get_config_ptr();
    return config && !config->results().empty() ? config->results().back() : "config";
  }

  // The option `key` names, as CLI11 looks it up: --key, -k, then a positional.
  const CLI::Option* find(const std::string& key) const {
    if (key == "config" || key == "help" || key == "version") return nullptr;
    const CLI::Option* option = app_.get_option_no_throw("--" + key);
    if (!option && key.size() == 1) option = app_.get_option_no_throw("-" + key);
    if (!option) option = app_.get_option_no_throw(key);
    return option;
  }

  template <class Fail>
  static std::string scalar(const toml::node& node, const CLI::Option& option, Fail& fail) {
    const std::string type = option.get_type_name();
    const bool numeric = type.find("INT") != std::string::npos ||
                         type.find("FLOAT") != std::string::npos ||
                         type.find("NUMBER") != std::string::npos;
    if (const auto* s = node.as_string()) {
      if (numeric) fail("is a number: write it without quotes");
      return s->get();
    }
    if (const auto* i = node.as_integer()) return std::to_string(i->get());
    if (const auto* f = node.as_floating_point()) {
      std::ostringstream out;
      out << f->get();
      return out.str();
    }
    if (node.is_boolean()) fail("takes a value, not true or false");
    fail(numeric ? "is a number" : "is text: write it in quotes");
    return "";
  }

  const CLI::App& app_;
};

}  // namespace

void addConfigFileOption(CLI::App& app) {
  app.set_config("--config", "",
                 "Read options from this TOML file (key = value, one per option: "
                 "users = \"10\", test = [\"Blog.test_home:9\"]); the command line overrides it");
  app.config_formatter(std::make_shared<TomlConfig>(app));
}

}  // namespace loads::master
