// The dispatcher: claims due outbox rows with a lease, sends each through its channel and records the outcome before
// the next, so a worker killed at any moment leaves at most the one row it was sending to be sent again (with the
// same id). PostgreSQL workers claim with FOR UPDATE SKIP LOCKED and never wait for each other.
#include <sodium.h>

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include <soci/soci.h>

#include "aftercare/notify.h"
#include "outbox_sql.h"

namespace aftercare {

using namespace notify_internal;

std::chrono::seconds RetryDelay(const RetryPolicy& policy, int attempts) {
  std::chrono::seconds delay = std::max(policy.first_delay, std::chrono::seconds(1));
  for (int i = 1; i < attempts && delay < policy.max_delay; ++i) delay *= 2;
  return std::min(delay, std::max(policy.max_delay, std::chrono::seconds(1)));
}

struct Dispatcher::Impl {
  Store& store;
  std::map<std::string, std::unique_ptr<Channel>> channels;
  DispatcherOptions options;
  std::string channel_list;  // "'email', 'webhook'"

  std::mutex mutex;
  std::condition_variable wake;
  bool stopping = false;
  std::thread thread;

  Impl(Store& s, std::vector<std::unique_ptr<Channel>> list, DispatcherOptions o) : store(s), options(std::move(o)) {
    for (auto& c : list) {
      std::string name = c->name();
      bool plain = !name.empty() && std::all_of(name.begin(), name.end(), [](char ch) { return ch >= 'a' && ch <= 'z'; });
      if (!plain) throw std::invalid_argument("a channel name must be lower-case letters: '" + name + "'");
      if (!channel_list.empty()) channel_list += ", ";
      channel_list += "'" + name + "'";
      channels[name] = std::move(c);
    }
    if (!options.clock) throw std::invalid_argument("the dispatcher needs a clock");
  }

  void Log(const std::string& event, const std::string& detail) {
    if (options.log) options.log(event, detail);
  }

  std::vector<OutboxEntry> Claim(Instant now, std::string* claim) {
    std::vector<OutboxEntry> out;
    if (channels.empty()) return out;
    unsigned char nonce[12];
    randombytes_buf(nonce, sizeof nonce);
    char hex[sizeof nonce * 2 + 1];
    sodium_bin2hex(hex, sizeof hex, nonce, sizeof nonce);
    *claim = hex;
    bool pg = store.backend() == "postgresql";
    store.Transact([&](soci::session& sql) {
      long long n = Seconds(now), n2 = n, until = n + options.lease.count(), lim = std::max(options.batch, 1);
      std::string worker = options.worker_id;
      std::string query =
          "UPDATE notify_outbox SET lease_owner = :w, claim = :c, lease_until = :u WHERE id IN (SELECT id FROM "
          "notify_outbox WHERE state = 'pending' AND next_attempt_at <= :n AND (lease_until IS NULL OR "
          "lease_until <= :n2) AND channel IN (" +
          channel_list + ") ORDER BY next_attempt_at, id LIMIT :l" + (pg ? " FOR UPDATE SKIP LOCKED" : "") + ")";
      sql << query, soci::use(worker), soci::use(*claim), soci::use(until), soci::use(n), soci::use(n2),
          soci::use(lim);
      out = SelectEntries(sql,
                          std::string("SELECT ") + kEntryColumns +
                              " FROM notify_outbox WHERE claim = :c ORDER BY next_attempt_at, id",
                          [&](soci::statement& st) { st.exchange(soci::use(*claim)); });
    });
    return out;
  }

  void Record(const OutboxEntry& entry, const std::string& claim, const SendOutcome& outcome, Instant now,
              DispatchCounts* counts) {
    long long id = entry.id, t = Seconds(now);
    long long attempts = entry.attempts + 1;
    std::string state = "sent";
    std::string detail = outcome.detail.substr(0, 900);
    long long next = t;
    if (outcome.kind == SendOutcome::kSent) {
      ++counts->sent;
      detail.clear();
    } else if (outcome.kind == SendOutcome::kRetry && attempts < options.retry.max_attempts) {
      ++counts->retried;
      state = "pending";
      next = t + RetryDelay(options.retry, static_cast<int>(attempts)).count();
    } else {
      ++counts->failed;
      state = "failed";
      if (outcome.kind == SendOutcome::kRetry) detail = "gave up after " + std::to_string(attempts) + " attempts: " + detail;
    }
    store.Transact([&](soci::session& sql) {
      std::string c = claim;
      if (state == "sent") {
        sql << "UPDATE notify_outbox SET state = 'sent', sent_at = :t, attempts = :a, last_error = '', "
               "lease_owner = NULL, claim = NULL, lease_until = NULL WHERE id = :i AND claim = :c AND state = 'pending'",
            soci::use(t), soci::use(attempts), soci::use(id), soci::use(c);
      } else {
        sql << "UPDATE notify_outbox SET state = :s, attempts = :a, next_attempt_at = :n, last_error = :e, "
               "lease_owner = NULL, claim = NULL, lease_until = NULL WHERE id = :i AND claim = :c AND state = 'pending'",
            soci::use(state), soci::use(attempts), soci::use(next), soci::use(detail), soci::use(id), soci::use(c);
      }
    });
    Log(state == "sent" ? "notify.sent" : state == "failed" ? "notify.failed" : "notify.retry",
        entry.channel + " " + entry.event_id + (detail.empty() ? "" : ": " + detail));
  }

  DispatchCounts RunOnce() {
    DispatchCounts counts;
    std::string claim;
    auto entries = Claim(options.clock(), &claim);
    for (const auto& entry : entries) {
      auto it = channels.find(entry.channel);
      SendOutcome outcome = it == channels.end() ? SendOutcome{SendOutcome::kRetry, "no such channel"}
                                                 : it->second->Send(entry);
      Record(entry, claim, outcome, options.clock(), &counts);
      {
        std::lock_guard lock(mutex);
        if (stopping) break;  // the rest of the claim is released by the lease or RecoverLeases
      }
    }
    if (!entries.empty()) {
      // Rows of the claim left unsent (stopping) go back to the pool at once.
      store.Transact([&](soci::session& sql) {
        sql << "UPDATE notify_outbox SET lease_owner = NULL, claim = NULL, lease_until = NULL WHERE claim = :c",
            soci::use(claim);
      });
    }
    return counts;
  }

  int RecoverLeases() {
    int released = 0;
    store.Transact([&](soci::session& sql) {
      std::string worker = options.worker_id;
      soci::statement st = (sql.prepare << "UPDATE notify_outbox SET lease_owner = NULL, claim = NULL, "
                                           "lease_until = NULL WHERE lease_owner = :w AND state = 'pending'",
                            soci::use(worker));
      st.execute(true);
      released = static_cast<int>(st.get_affected_rows());
    });
    if (released > 0) Log("notify.recovered", std::to_string(released) + " leases of " + options.worker_id);
    return released;
  }

  void Loop() {
    bool recovered = false;
    for (;;) {
      bool idle = true;
      try {
        if (!recovered) {
          RecoverLeases();
          recovered = true;
        }
        idle = RunOnce().attempted() == 0;
      } catch (const std::exception& e) {
        Log("notify.error", e.what());
      }
      std::unique_lock lock(mutex);
      if (stopping) return;
      if (idle) wake.wait_for(lock, options.idle_wait, [this] { return stopping; });
      if (stopping) return;
    }
  }
};

Dispatcher::Dispatcher(Store& store, std::vector<std::unique_ptr<Channel>> channels, DispatcherOptions options)
    : impl_(std::make_unique<Impl>(store, std::move(channels), std::move(options))) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium could not be initialised");
}

Dispatcher::~Dispatcher() { Stop(); }

int Dispatcher::RecoverLeases() { return impl_->RecoverLeases(); }

DispatchCounts Dispatcher::RunOnce() { return impl_->RunOnce(); }

void Dispatcher::Start() {
  std::lock_guard lock(impl_->mutex);
  if (impl_->thread.joinable()) return;
  impl_->stopping = false;
  impl_->thread = std::thread([impl = impl_.get()] { impl->Loop(); });
}

void Dispatcher::Stop() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace aftercare
