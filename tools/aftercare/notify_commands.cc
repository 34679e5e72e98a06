// dispatch: a reminder worker beside (or instead of) the one inside `aftercare serve`. It sends due reminders from
// the outbox by mail and webhook as configured in a notify file (docs/reminders.md) until SIGTERM or SIGINT.
// outbox: a clinic's reminders and their delivery state, so staff see what failed and why.
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>

#include "aftercare/notify.h"
#include "aftercare/store.h"
#include "notify_commands.h"

namespace aftercare::cli {
namespace {

struct DispatchArgs {
  std::string db;
  std::string config;
  std::string worker_id;
  std::string now;
  bool until_idle = false;
  int batch = 20;
  int poll_ms = 1000;
  int lease_seconds = 300;
  bool quiet = false;
};

std::string FromEnv(const std::string& flag, const char* env, const std::string& fallback) {
  if (!flag.empty()) return flag;
  if (const char* value = std::getenv(env); value && *value) return value;
  return fallback;
}

std::string DefaultWorkerId() {
  char host[256] = {0};
  if (gethostname(host, sizeof host - 1) != 0 || !*host) return "dispatch";
  return std::string("dispatch-") + host;
}

Instant SystemSeconds() {
  return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
}

int RunDispatch(const DispatchArgs& args) {
  std::string db = FromEnv(args.db, "AFTERCARE_DB", kDefaultDatabase);
  std::string config = FromEnv(args.config, "AFTERCARE_NOTIFY_CONFIG", "");
  if (config.empty()) throw BadInput{"--notify-config: the mail and webhook settings file is needed (docs/reminders.md)"};
  DeliverySettings settings = Require(LoadDeliverySettings(config));

  // The clock: the system's, or (--now, for drills and tests) one that starts at the given instant and advances
  // with real time from there.
  Clock clock = SystemSeconds;
  if (!args.now.empty()) {
    Instant start = Require(ParseTime(args.now, *FindZone("UTC")));
    auto began = std::chrono::steady_clock::now();
    clock = [start, began] {
      return start + std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - began);
    };
  }

  auto opened = Store::Open(db);
  if (!opened) {
    std::cerr << "aftercare: error: " << opened.error().message << "\n";
    return kExitFailed;
  }
  std::unique_ptr<Store> store = std::move(opened).value();

  std::vector<std::unique_ptr<Channel>> channels = MakeChannels(settings, clock);
  DispatcherOptions options;
  options.worker_id = args.worker_id.empty() ? DefaultWorkerId() : args.worker_id;
  options.batch = args.batch;
  options.lease = std::chrono::seconds(args.lease_seconds);
  options.retry = settings.retry;
  options.clock = clock;
  options.idle_wait = std::chrono::milliseconds(args.poll_ms);
  auto log_mutex = std::make_shared<std::mutex>();
  if (!args.quiet) {
    options.log = [log_mutex](const std::string& event, const std::string& detail) {
      std::lock_guard lock(*log_mutex);
      std::cout << event << " " << detail << "\n" << std::flush;
    };
  }
  Dispatcher dispatcher(*store, std::move(channels), options);

  try {
    if (args.until_idle) {
      dispatcher.RecoverLeases();
      DispatchCounts total;
      for (;;) {
        auto counts = dispatcher.RunOnce();
        if (counts.attempted() == 0) break;
        total.sent += counts.sent;
        total.retried += counts.retried;
        total.failed += counts.failed;
      }
      if (!args.quiet) {
        std::cout << "aftercare: dispatched: " << total.sent << " sent, " << total.retried << " to retry, "
                  << total.failed << " failed\n";
      }
      return kExitOk;
    }
  } catch (const StoreUnavailable& e) {
    std::cerr << "aftercare: error: " << e.what() << "\n";
    return kExitFailed;
  }

  // Until SIGTERM/SIGINT: block them here (the dispatcher's thread inherits the mask) and wait for one.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  dispatcher.Start();
  if (!args.quiet) std::cout << "aftercare: dispatching as " << options.worker_id << "\n" << std::flush;
  int received = 0;
  sigwait(&signals, &received);
  dispatcher.Stop();
  return kExitOk;
}

struct OutboxArgs {
  std::string db;
  long long clinic = 0;
  long long procedure = 0;
  std::string state;
  int limit = 100;
};

int RunOutbox(const OutboxArgs& args, bool json) {
  std::optional<OutboxState> state;
  if (!args.state.empty()) {
    state = ParseOutboxState(args.state);
    if (!state) throw BadInput{"--state: pending, sent, failed, cancelled or unsubscribed"};
  }
  auto opened = Store::Open(FromEnv(args.db, "AFTERCARE_DB", kDefaultDatabase));
  if (!opened) {
    std::cerr << "aftercare: error: " << opened.error().message << "\n";
    return kExitFailed;
  }
  auto store = std::move(opened).value();
  std::optional<Id> procedure;
  if (args.procedure != 0) procedure = args.procedure;
  auto rows = ListOutbox(*store, args.clinic, procedure, state, args.limit);
  Zone utc = *FindZone("UTC");
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : rows) {
      out.push_back({{"event_id", r.event_id},
                     {"channel", r.channel},
                     {"procedure_id", r.procedure_id},
                     {"kind", r.kind},
                     {"due", FormatInstant(r.due, utc)},
                     {"state", OutboxStateName(r.state)},
                     {"attempts", r.attempts},
                     {"next_attempt", FormatInstant(r.next_attempt, utc)},
                     {"sent_at", r.sent_at ? nlohmann::json(FormatInstant(*r.sent_at, utc)) : nlohmann::json()},
                     {"last_error", r.last_error}});
    }
    PrintJson(out);
    return kExitOk;
  }
  for (const auto& r : rows) {
    std::cout << FormatInstant(r.due, utc) << "  " << OutboxStateName(r.state) << "  " << r.channel << "  "
              << r.event_id << "  attempts " << r.attempts;
    if (!r.last_error.empty()) std::cout << "  (" << r.last_error << ")";
    std::cout << "\n";
  }
  if (rows.empty()) std::cout << "no reminders\n";
  return kExitOk;
}

}  // namespace

void RegisterNotifyCommands(CLI::App& app, Cli& cli) {
  auto args = std::make_shared<DispatchArgs>();
  auto* command = app.add_subcommand("dispatch", "Send due reminders from the outbox by mail and webhook");
  command->add_option("--db", args->db,
                      "Database: sqlite:PATH or postgresql://USER@HOST:PORT/DBNAME [env AFTERCARE_DB]");
  command->add_option("--notify-config", args->config,
                      "The mail and webhook settings (TOML, docs/reminders.md) [env AFTERCARE_NOTIFY_CONFIG]");
  command->add_option("--worker-id", args->worker_id,
                      "This worker's stable name; a restarted worker takes back its own leases (default: host name)");
  command->add_flag("--until-idle", args->until_idle, "Send what is due now, then exit");
  command->add_option("--now", args->now, "Start the clock at this instant (drills and tests)");
  command->add_option("--batch", args->batch, "Rows claimed at a time")->check(CLI::Range(1, 1000));
  command->add_option("--poll-ms", args->poll_ms, "Milliseconds between polls when nothing is due")
      ->check(CLI::Range(10, 600000));
  command->add_option("--lease", args->lease_seconds, "Seconds a claim lasts before another worker may take it")
      ->check(CLI::Range(5, 86400));
  command->add_flag("--quiet", args->quiet, "Print nothing but errors");
  command->footer("Runs until SIGTERM or SIGINT, finishing the message in flight. Several workers may share a "
                  "PostgreSQL outbox; give each its own --worker-id.");
  command->callback([&cli, args] { cli.action = [args] { return RunDispatch(*args); }; });

  auto list = std::make_shared<OutboxArgs>();
  auto* outbox = app.add_subcommand("outbox", "A clinic's reminders and their delivery state (failures and why)");
  outbox->add_option("--db", list->db, "Database [env AFTERCARE_DB]");
  outbox->add_option("--clinic", list->clinic, "The clinic's id")->required();
  outbox->add_option("--procedure", list->procedure, "Only this procedure's reminders");
  outbox->add_option("--state", list->state, "Only pending, sent, failed, cancelled or unsubscribed");
  outbox->add_option("--limit", list->limit, "At most this many, newest due first")->check(CLI::Range(1, 1000));
  outbox->callback([&cli, list] { cli.action = [&cli, list] { return RunOutbox(*list, cli.json); }; });
}

}  // namespace aftercare::cli
