// serve, admin create-clinic, admin backup: the clinic server and its administration from the command line.
// Settings come from a flag, else an environment variable, else the config file, else the default.
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <memory>

#include "aftercare/notify.h"
#include "aftercare/server.h"
#include "aftercare/store.h"
#include "server_commands.h"

namespace aftercare::cli {
namespace {

// One setting: its flag, environment variable, config-file key and default.
struct Setting {
  const char* key;
  const char* env;
  const char* fallback;
  const char* help;
};

const std::vector<Setting>& Settings() {
  static const std::vector<Setting> kSettings = {
      {"listen", "AFTERCARE_LISTEN", "127.0.0.1:8080", "Address and port to listen on, e.g. 0.0.0.0:8080"},
      {"db", "AFTERCARE_DB", kDefaultDatabase,
       "Database: sqlite:PATH (directory created) or postgresql://USER@HOST:PORT/DBNAME"},
      {"public-url", "AFTERCARE_PUBLIC_URL", "", "Base URL of patient links (default: http://LISTEN)"},
      {"threads", "AFTERCARE_THREADS", "4", "Worker threads"},
      {"rate-limit", "AFTERCARE_RATE_LIMIT", "300", "Requests a minute per client address on token endpoints (0: off)"},
      {"max-body", "AFTERCARE_MAX_BODY", "65536", "Largest request body in bytes"},
      {"max-header", "AFTERCARE_MAX_HEADER", "8192", "Largest URL or header value in bytes"},
      {"timeout", "AFTERCARE_TIMEOUT", "30", "Seconds to read, handle and write one request"},
      {"max-connections", "AFTERCARE_MAX_CONNECTIONS", "4096",
       "Open client connections at once (more wait to be accepted; lowered to fit the open-file limit)"},
      {"web-root", "AFTERCARE_WEB_ROOT", "", "Serve the web pages from this folder (e.g. web/, to edit them) instead of "
       "the copies built in"},
      {"notify-config", "AFTERCARE_NOTIFY_CONFIG", "",
       "Send reminders: the mail and webhook settings (TOML, docs/reminders.md); unset: none are written or sent"},
  };
  return kSettings;
}

// Flags given on the command line, keyed like Settings().
struct SettingFlags {
  std::map<std::string, std::string> values;
  std::map<std::string, CLI::Option*> options;
  std::string config;  // --config
};

void AddSettingFlags(CLI::App* command, SettingFlags* flags, const std::vector<std::string>& keys) {
  for (const auto& s : Settings()) {
    if (std::find(keys.begin(), keys.end(), s.key) == keys.end()) continue;
    std::string help = std::string(s.help) + " [env " + s.env + "; default " +
                       (*s.fallback ? s.fallback : "see text") + "]";
    flags->options[s.key] = command->add_option(std::string("--") + s.key, flags->values[s.key], help);
  }
  command->add_option("--config", flags->config,
                      "A config file of 'key = value' lines (keys as the flags without --) [env AFTERCARE_CONFIG]");
}

std::string Trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

// Flag, else environment, else config file, else default. Throws BadInput for a bad config file.
std::map<std::string, std::string> ResolveSettings(const SettingFlags& flags) {
  std::map<std::string, std::string> file;
  std::string config = flags.config;
  if (config.empty()) {
    if (const char* env = std::getenv("AFTERCARE_CONFIG")) config = env;
  }
  if (!config.empty()) {
    std::string text = Require(ReadTextFile(config));
    std::istringstream lines(text);
    std::string line;
    int number = 0;
    while (std::getline(lines, line)) {
      ++number;
      line = Trim(line);
      if (line.empty() || line[0] == '#') continue;
      auto eq = line.find('=');
      std::string key = eq == std::string::npos ? line : Trim(line.substr(0, eq));
      std::replace(key.begin(), key.end(), '_', '-');
      bool known = std::any_of(Settings().begin(), Settings().end(), [&](const Setting& s) { return key == s.key; });
      if (eq == std::string::npos || !known) {
        throw BadInput{config + ":" + std::to_string(number) + ": expected 'key = value' with a key among listen, db, "
                       "public-url, threads, rate-limit, max-body, max-header, timeout, max-connections, web-root, "
                       "notify-config"};
      }
      std::string value = Trim(line.substr(eq + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
      file[key] = value;
    }
  }
  std::map<std::string, std::string> out;
  for (const auto& s : Settings()) {
    auto option = flags.options.find(s.key);
    if (option != flags.options.end() && option->second->count() > 0) {
      out[s.key] = flags.values.at(s.key);
    } else if (const char* env = std::getenv(s.env); env && *env) {
      out[s.key] = env;
    } else if (file.count(s.key)) {
      out[s.key] = file[s.key];
    } else {
      out[s.key] = s.fallback;
    }
  }
  return out;
}

int Number(const std::map<std::string, std::string>& settings, const char* key, int lo, int hi) {
  const std::string& v = settings.at(key);
  bool digits = !v.empty() && v.size() <= 9 && std::all_of(v.begin(), v.end(), ::isdigit);
  if (!digits || std::stoi(v) < lo || std::stoi(v) > hi) {
    throw BadInput{std::string(key) + ": '" + v + "' is not a whole number from " + std::to_string(lo) + " to " +
                   std::to_string(hi)};
  }
  return std::stoi(v);
}

// The database URL without a password, for messages.
std::string Redacted(const std::string& url) {
  auto scheme = url.find("://");
  auto at = url.find('@');
  if (scheme == std::string::npos || at == std::string::npos || at < scheme) return url;
  auto colon = url.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon + 1) + "***" + url.substr(at);
}

// Opens the store or prints one line and returns nullptr.
std::unique_ptr<Store> OpenStore(const std::string& url) {
  auto store = Store::Open(url);
  if (!store) {
    std::cerr << "aftercare: error: " << store.error().message << " (database " << Redacted(url) << ")\n";
    return nullptr;
  }
  return std::move(store).value();
}

// The outbox depth per state, in Prometheus text, for /metrics.
std::string OutboxMetrics(Store& store) {
  std::string out =
      "# HELP aftercare_outbox_reminders Reminder outbox rows, by state.\n# TYPE aftercare_outbox_reminders gauge\n";
  for (const auto& [state, count] : CountOutbox(store)) {
    out += "aftercare_outbox_reminders{state=\"" + std::string(OutboxStateName(state)) + "\"} " +
           std::to_string(count) + "\n";
  }
  return out;
}

// The serving dispatcher's stable worker id: this host and port, so a restart takes back its own leases.
std::string ServeWorkerId(std::uint16_t port) {
  char host[256] = {0};
  std::string name = gethostname(host, sizeof host - 1) == 0 && *host ? host : "localhost";
  return "serve-" + name + ":" + std::to_string(port);
}

}  // namespace

void RegisterServerCommands(CLI::App& app, Cli& cli) {
  {
    auto flags = std::make_shared<SettingFlags>();
    auto* command = app.add_subcommand("serve", "Run the clinic server: JSON API, patient links, /metrics");
    AddSettingFlags(command, flags.get(),
                    {"listen", "db", "public-url", "threads", "rate-limit", "max-body", "max-header", "timeout",
                     "max-connections", "web-root", "notify-config"});
    auto now = std::make_shared<std::string>();
    command->add_option("--now", *now,
                        "For tests only: freeze the server's clock at TIME (e.g. 2026-11-28T12:00Z), so answers "
                        "at 'now' are reproducible");
    command->footer(
        "Settings: a flag wins over its environment variable, which wins over the config file (--config or "
        "AFTERCARE_CONFIG). The protocol is the global --protocol (default: the built-in CIT protocol). Stops "
        "gracefully on SIGTERM or SIGINT.");
    command->callback([&cli, flags, now] {
      cli.action = [&cli, flags, now] {
        auto settings = ResolveSettings(*flags);
        auto listen = Require(ParseListen(settings["listen"]));
        ServerOptions options;
        options.host = listen.first;
        options.port = listen.second;
        options.public_url = settings["public-url"];
        options.threads = Number(settings, "threads", 1, 256);
        options.rate_limit_per_minute = Number(settings, "rate-limit", 0, 1'000'000);
        options.max_body_bytes = static_cast<std::size_t>(Number(settings, "max-body", 1024, 64 << 20));
        options.max_header_bytes = static_cast<std::size_t>(Number(settings, "max-header", 1024, 1 << 20));
        options.request_timeout_seconds = Number(settings, "timeout", 1, 3600);
        options.max_connections = Number(settings, "max-connections", 1, 1'000'000);
        options.web_root = settings["web-root"];
        if (!now->empty()) {
          Instant fixed = Require(ParseTime(*now, date::locate_zone("UTC")));
          options.clock = [fixed] { return fixed; };
        }
        // Reminders: the mail and webhook settings, checked before anything starts.
        std::optional<DeliverySettings> delivery;
        if (!settings["notify-config"].empty()) {
          auto loaded = LoadDeliverySettings(settings["notify-config"]);
          if (!loaded) throw BadInput{"notify-config: " + loaded.error().message};
          delivery = std::move(loaded).value();
        }
        std::string url = options.public_url.empty()
                              ? "http://" + (options.host.find(':') != std::string::npos ? "[" + options.host + "]"
                                                                                          : options.host) +
                                    ":" + std::to_string(options.port)
                              : options.public_url;
        const Protocol& protocol = cli.protocol();
        std::string text =
            cli.protocol_path.empty() ? std::string(BuiltinProtocolText()) : Require(ReadTextFile(cli.protocol_path));
        auto store = OpenStore(settings["db"]);
        if (!store) return kExitFailed;
        Store* db = store.get();
        options.extra_metrics = [db] { return OutboxMetrics(*db); };
        if (delivery) {
          std::string base = url;
          while (!base.empty() && base.back() == '/') base.pop_back();
          auto reminders = std::make_shared<const ReminderSettings>(ReminderSettingsFor(*delivery, base));
          options.registration_work = [reminders](const Plan& plan, Instant at) {
            return RemindersOnRegistration(plan, *reminders, at);
          };
        }
        std::unique_ptr<Api> api;
        try {
          api = std::make_unique<Api>(*store, protocol, text, options);
        } catch (const StoreUnavailable& e) {
          std::cerr << "aftercare: error: " << e.what() << "\n";
          return kExitFailed;
        }
        // The reminder worker, in a background thread. SIGTERM and SIGINT are blocked first, so its thread
        // inherits the mask and only RunServer's sigwait sees them.
        std::unique_ptr<Dispatcher> dispatcher;
        if (delivery) {
          sigset_t stop_signals;
          sigemptyset(&stop_signals);
          sigaddset(&stop_signals, SIGTERM);
          sigaddset(&stop_signals, SIGINT);
          pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
          DispatcherOptions dispatch;
          dispatch.worker_id = ServeWorkerId(options.port);
          dispatch.retry = delivery->retry;
          dispatch.clock = options.clock;
          Api* logger = api.get();
          // The event and the row's channel and id only: a failure's reason may quote an address (it is kept in
          // the outbox for staff).
          dispatch.log = [logger](const std::string& event, const std::string& detail) {
            if (event == "notify.error") return logger->Log("error", event, {{"reason", detail}});
            logger->Log("info", event, {{"entry", detail.substr(0, detail.find(": "))}});
          };
          dispatcher = std::make_unique<Dispatcher>(*store, MakeChannels(*delivery, options.clock), dispatch);
          dispatcher->Start();
        }
        std::cout << "aftercare: serving " << url << " (database " << Redacted(settings["db"]) << ", protocol "
                  << protocol.id << " " << protocol.version << ")\n"
                  << "aftercare: create a clinic and its first staff login with:\n"
                  << "  aftercare admin create-clinic \"Clinic name\" --db " << Redacted(settings["db"]) << "\n"
                  << "aftercare: then log in on the clinic page: " << url << "/\n"
                  << std::flush;
        auto ran = RunServer(*api, options);
        if (dispatcher) dispatcher->Stop();  // finishes the message in flight
        if (!ran) {
          std::cerr << "aftercare: error: " << ran.error().message << "\n";
          return kExitFailed;
        }
        return *ran;
      };
    });
  }

  auto* admin = app.add_subcommand("admin", "Administer the clinic server's database");
  admin->require_subcommand(1);
  {
    auto flags = std::make_shared<SettingFlags>();
    auto name = std::make_shared<std::string>();
    auto* command = admin->add_subcommand(
        "create-clinic", "Create a clinic; prints its first staff login, password and API token once");
    command->add_option("name", *name, "The clinic's name")->required();
    AddSettingFlags(command, flags.get(), {"db"});
    command->callback([&cli, flags, name] {
      cli.action = [&cli, flags, name] {
        auto settings = ResolveSettings(*flags);
        auto store = OpenStore(settings["db"]);
        if (!store) return kExitFailed;
        ClinicCredentials c = Require(store->CreateClinic(*name, SystemNow()));
        if (cli.json) {
          PrintJson({{"clinic_id", c.clinic_id},
                     {"clinic", c.clinic_name},
                     {"login", c.login},
                     {"password", c.password},
                     {"api_token", c.api_token}});
        } else {
          std::cout << "Clinic \"" << c.clinic_name << "\" created.\n"
                    << "Its first staff login, shown only this once (store it in a password manager):\n"
                    << "  login:     " << c.login << "\n"
                    << "  password:  " << c.password << "\n"
                    << "  API token: " << c.api_token << "\n"
                    << "Log in with them on the clinic page, the address `aftercare serve` prints.\n"
                    << "Send the token as 'Authorization: Bearer <token>'; POST /api/v1/login with the login and "
                       "password issues more.\n";
        }
        return kExitOk;
      };
    });
  }
  {
    auto flags = std::make_shared<SettingFlags>();
    auto file = std::make_shared<std::string>();
    auto* command = admin->add_subcommand(
        "backup", "A consistent copy of the live SQLite database (SQLite's online backup), never overwriting");
    command->add_option("file", *file, "The new backup file")->required();
    AddSettingFlags(command, flags.get(), {"db"});
    command->callback([&cli, flags, file] {
      cli.action = [&cli, flags, file] {
        auto settings = ResolveSettings(*flags);
        std::string written = Require(BackupSqlite(settings["db"], *file));
        if (cli.json) {
          PrintJson({{"backup", written}});
        } else {
          std::cout << "Backed up " << settings["db"] << " to " << written << "\n";
        }
        return kExitOk;
      };
    });
  }
}

}  // namespace aftercare::cli
