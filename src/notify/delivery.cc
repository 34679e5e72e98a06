// The channels: mail through libcurl's SMTP (STARTTLS, AUTH) and webhooks as POSTs signed with HMAC-SHA256
// (libsodium). libcurl errors become SendOutcome values here; nothing throws out of Send.
#include <curl/curl.h>
#include <sodium.h>

#include <algorithm>
#include <filesystem>
#include <mutex>

#include <toml++/toml.h>

#include "aftercare/notify.h"

namespace aftercare {
namespace {

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (sodium_init() < 0) throw std::runtime_error("libsodium could not be initialised");
  });
}

std::string Base64(std::string_view bytes) {
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  out.resize(std::strlen(out.c_str()));
  return out;
}

bool Ascii(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](unsigned char c) { return c < 0x80; });
}

// RFC 2047 for a header value that is not plain ASCII.
std::string HeaderText(const std::string& text) {
  std::string clean = text;
  std::replace(clean.begin(), clean.end(), '\r', ' ');
  std::replace(clean.begin(), clean.end(), '\n', ' ');
  if (Ascii(clean)) return clean;
  return "=?UTF-8?B?" + Base64(clean) + "?=";
}

// "Name <a@b>" or "a@b" -> "a@b".
std::string Address(const std::string& mailbox) {
  auto open = mailbox.rfind('<');
  auto close = mailbox.rfind('>');
  if (open != std::string::npos && close != std::string::npos && close > open) {
    return mailbox.substr(open + 1, close - open - 1);
  }
  return mailbox;
}

std::string RfcDate(Instant at) { return date::format("%a, %d %b %Y %H:%M:%S +0000", at); }

std::string Crlf(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\r') continue;
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

struct Upload {
  const std::string* data;
  std::size_t offset = 0;
};

std::size_t ReadUpload(char* buffer, std::size_t size, std::size_t count, void* user) {
  auto* upload = static_cast<Upload*>(user);
  std::size_t n = std::min(size * count, upload->data->size() - upload->offset);
  std::memcpy(buffer, upload->data->data() + upload->offset, n);
  upload->offset += n;
  return n;
}

std::size_t Discard(char*, std::size_t size, std::size_t count, void*) { return size * count; }

struct Easy {
  CURL* curl;
  Easy() : curl(curl_easy_init()) {}
  ~Easy() {
    if (curl) curl_easy_cleanup(curl);
  }
};

struct Slist {
  curl_slist* list = nullptr;
  ~Slist() { curl_slist_free_all(list); }
  void Add(const std::string& line) { list = curl_slist_append(list, line.c_str()); }
};

class SmtpChannel final : public Channel {
 public:
  explicit SmtpChannel(SmtpSettings settings) : settings_(std::move(settings)) { GlobalInit(); }
  std::string name() const override { return "email"; }

  SendOutcome Send(const OutboxEntry& entry) override {
    Easy easy;
    if (!easy.curl) return {SendOutcome::kRetry, "libcurl could not start"};
    std::string message = ComposeMail(entry, settings_.from);
    Upload upload{&message};
    Slist recipients;
    recipients.Add("<" + entry.recipient + ">");
    std::string from = "<" + Address(settings_.from) + ">";
    char error[CURL_ERROR_SIZE] = {0};
    CURL* c = easy.curl;
    curl_easy_setopt(c, CURLOPT_URL, settings_.url.c_str());
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_USE_SSL, settings_.tls == "none" ? CURLUSESSL_NONE : CURLUSESSL_ALL);
    if (!settings_.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, settings_.ca_file.c_str());
    if (!settings_.username.empty()) {
      curl_easy_setopt(c, CURLOPT_USERNAME, settings_.username.c_str());
      curl_easy_setopt(c, CURLOPT_PASSWORD, settings_.password.c_str());
    }
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, from.c_str());
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, recipients.list);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, ReadUpload);
    curl_easy_setopt(c, CURLOPT_READDATA, &upload);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, static_cast<long>(std::min(settings_.timeout_seconds, 30)));
    curl_easy_setopt(c, CURLOPT_TIMEOUT, static_cast<long>(settings_.timeout_seconds));
    CURLcode result = curl_easy_perform(c);
    if (result == CURLE_OK) return {SendOutcome::kSent, ""};
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    std::string detail = "smtp: " + std::string(error[0] ? error : curl_easy_strerror(result));
    if (code > 0) detail += " (reply " + std::to_string(code) + ")";
    // A refused login or TLS is the clinic's configuration: retried, so fixing it delivers. A 5xx reply to the
    // message or recipient is permanent.
    if (result != CURLE_LOGIN_DENIED && result != CURLE_USE_SSL_FAILED && code >= 500 && code < 600) {
      return {SendOutcome::kPermanent, detail};
    }
    return {SendOutcome::kRetry, detail};
  }

 private:
  SmtpSettings settings_;
};

class WebhookChannel final : public Channel {
 public:
  WebhookChannel(WebhookSettings settings, Clock clock) : settings_(std::move(settings)), clock_(std::move(clock)) {
    GlobalInit();
  }
  std::string name() const override { return "webhook"; }

  SendOutcome Send(const OutboxEntry& entry) override {
    Easy easy;
    if (!easy.curl) return {SendOutcome::kRetry, "libcurl could not start"};
    long long timestamp = clock_().time_since_epoch().count();
    Slist headers;
    headers.Add("Content-Type: application/json");
    headers.Add("User-Agent: aftercare-notify/1");
    headers.Add("X-Aftercare-Event-Id: " + entry.event_id);
    headers.Add("X-Aftercare-Timestamp: " + std::to_string(timestamp));
    headers.Add("X-Aftercare-Signature: " + WebhookSignature(settings_.secret, timestamp, entry.payload));
    headers.Add("Expect:");
    char error[CURL_ERROR_SIZE] = {0};
    CURL* c = easy.curl;
    curl_easy_setopt(c, CURLOPT_URL, settings_.url.c_str());
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.list);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, entry.payload.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(entry.payload.size()));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, Discard);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    if (!settings_.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, settings_.ca_file.c_str());
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, static_cast<long>(std::min(settings_.timeout_seconds, 30)));
    curl_easy_setopt(c, CURLOPT_TIMEOUT, static_cast<long>(settings_.timeout_seconds));
    CURLcode result = curl_easy_perform(c);
    if (result != CURLE_OK) {
      return {SendOutcome::kRetry, "webhook: " + std::string(error[0] ? error : curl_easy_strerror(result))};
    }
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 200 && status < 300) return {SendOutcome::kSent, ""};
    std::string detail = "webhook: HTTP " + std::to_string(status);
    // A 4xx refuses this request for good, except those that mean the receiver or its configuration is not ready
    // (a wrong secret, URL or redirect is fixed by the clinic, and then the reminder still arrives).
    bool retry = status >= 500 || status < 200 || (status >= 300 && status < 400) || status == 401 ||
                 status == 403 || status == 404 || status == 408 || status == 425 || status == 429;
    return {retry ? SendOutcome::kRetry : SendOutcome::kPermanent, detail};
  }

 private:
  WebhookSettings settings_;
  Clock clock_;
};

// --- settings --------------------------------------------------------------------------------------------------

struct Problems {
  std::vector<std::string> list;
  void Add(std::string where, std::string message) { list.push_back(std::move(where) + ": " + std::move(message)); }
};

void KnownKeys(const toml::table& table, std::string_view where, std::initializer_list<std::string_view> known,
               Problems* problems) {
  for (const auto& [key, value] : table) {
    if (std::find(known.begin(), known.end(), key.str()) == known.end()) {
      problems->Add(std::string(where), "unknown key '" + std::string(key.str()) + "'");
    }
  }
}

std::string ReadSecret(const toml::table& table, std::string_view where, const char* inline_key,
                       const char* file_key, const std::filesystem::path& base, Problems* problems) {
  if (auto file = table[file_key].value<std::string>()) {
    std::filesystem::path path = *file;
    if (path.is_relative()) path = base / path;
    auto text = ReadTextFile(path.string());
    if (!text) {
      problems->Add(std::string(where), text.error().message);
      return "";
    }
    std::string secret = *text;
    while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r' || secret.back() == ' ')) {
      secret.pop_back();
    }
    return secret;
  }
  return table[inline_key].value_or(std::string());
}

std::optional<std::chrono::seconds> Delay(const toml::node_view<const toml::node>& node, std::string_view where,
                                          Problems* problems) {
  if (!node) return std::nullopt;
  if (auto seconds = node.value<std::int64_t>()) {
    if (*seconds >= 1) return std::chrono::seconds(*seconds);
  } else if (auto text = node.value<std::string>()) {
    if (auto offset = ParseOffset(*text); offset && offset->amount > 0) {
      return std::chrono::seconds(offset->NominalMinutes() * 60);
    }
  }
  problems->Add(std::string(where), "a delay like \"1m\", \"6h\" or a number of seconds (at least 1)");
  return std::nullopt;
}

}  // namespace

std::string ComposeMail(const OutboxEntry& entry, const std::string& from) {
  std::string from_address = Address(from);
  auto at = from_address.rfind('@');
  std::string domain = at == std::string::npos ? "aftercare.invalid" : from_address.substr(at + 1);
  std::string body = Crlf(entry.body);
  bool plain = Ascii(body);
  std::string headers;
  headers += "From: " + HeaderText(from) + "\r\n";
  headers += "To: <" + entry.recipient + ">\r\n";
  headers += "Subject: " + HeaderText(entry.subject) + "\r\n";
  headers += "Date: " + RfcDate(entry.due) + "\r\n";
  headers += "Message-ID: <" + entry.event_id + "@" + domain + ">\r\n";
  if (!entry.unsubscribe_url.empty()) {
    headers += "List-Unsubscribe: <" + entry.unsubscribe_url + ">\r\n";
    headers += "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n";
  }
  headers += "Auto-Submitted: auto-generated\r\n";
  headers += "X-Aftercare-Event-Id: " + entry.event_id + "\r\n";
  headers += "MIME-Version: 1.0\r\n";
  headers += "Content-Type: text/plain; charset=utf-8\r\n";
  if (plain) {
    headers += "Content-Transfer-Encoding: 7bit\r\n";
  } else {
    headers += "Content-Transfer-Encoding: base64\r\n";
    std::string encoded = Base64(entry.body);
    body.clear();
    for (std::size_t i = 0; i < encoded.size(); i += 76) body += encoded.substr(i, 76) + "\r\n";
  }
  return headers + "\r\n" + body;
}

std::string WebhookSignature(const std::string& secret, long long timestamp, const std::string& body) {
  GlobalInit();
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(secret.data()), secret.size());
  std::string prefix = std::to_string(timestamp) + ".";
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(prefix.data()), prefix.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(body.data()), body.size());
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_final(&state, mac);
  char hex[sizeof mac * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
  return std::string("sha256=") + hex;
}

std::unique_ptr<Channel> MakeSmtpChannel(SmtpSettings settings) {
  return std::make_unique<SmtpChannel>(std::move(settings));
}

std::unique_ptr<Channel> MakeWebhookChannel(WebhookSettings settings, Clock clock) {
  return std::make_unique<WebhookChannel>(std::move(settings), std::move(clock));
}

std::vector<std::unique_ptr<Channel>> MakeChannels(const DeliverySettings& settings, Clock clock) {
  std::vector<std::unique_ptr<Channel>> out;
  if (settings.smtp) out.push_back(MakeSmtpChannel(*settings.smtp));
  if (settings.webhook) out.push_back(MakeWebhookChannel(*settings.webhook, std::move(clock)));
  return out;
}

ReminderSettings ReminderSettingsFor(const DeliverySettings& settings, std::string public_url) {
  ReminderSettings out;
  out.public_url = std::move(public_url);
  out.email = settings.smtp.has_value();
  out.webhook = settings.webhook.has_value();
  return out;
}

namespace {

Result<DeliverySettings> ParseSettings(std::string_view toml_text, std::string_view origin,
                                       const std::filesystem::path& base) {
  toml::table root;
  try {
    root = toml::parse(toml_text, origin);
  } catch (const toml::parse_error& e) {
    return MakeError(std::string(origin) + ": " + std::string(e.description()));
  }
  Problems problems;
  KnownKeys(root, "top level", {"format_version", "smtp", "webhook", "retry"}, &problems);
  if (root["format_version"].value<std::int64_t>() != 1) problems.Add("format_version", "must be 1");
  DeliverySettings out;
  if (const auto* t = root["smtp"].as_table()) {
    KnownKeys(*t, "smtp", {"url", "tls", "username", "password", "password_file", "from", "ca_file", "timeout_seconds"},
              &problems);
    SmtpSettings s;
    s.url = (*t)["url"].value_or(std::string());
    s.tls = (*t)["tls"].value_or(std::string("starttls"));
    s.username = (*t)["username"].value_or(std::string());
    s.password = ReadSecret(*t, "smtp", "password", "password_file", base, &problems);
    s.from = (*t)["from"].value_or(std::string());
    s.ca_file = (*t)["ca_file"].value_or(std::string());
    s.timeout_seconds = static_cast<int>((*t)["timeout_seconds"].value_or(std::int64_t{30}));
    bool smtps = s.url.rfind("smtps://", 0) == 0;
    if (s.url.rfind("smtp://", 0) != 0 && !smtps) problems.Add("smtp.url", "must start with smtp:// or smtps://");
    if (s.tls != "starttls" && s.tls != "tls" && s.tls != "none") {
      problems.Add("smtp.tls", "must be \"starttls\", \"tls\" or \"none\"");
    }
    if (s.tls == "tls" && !smtps) problems.Add("smtp.tls", "\"tls\" needs an smtps:// url");
    if (s.tls == "none" && !s.username.empty()) {
      problems.Add("smtp.tls", "\"none\" would send the password in the clear: use starttls or tls with a login");
    }
    if (Address(s.from).find('@') == std::string::npos || s.from.find_first_of("\r\n") != std::string::npos) {
      problems.Add("smtp.from", "an address like \"Glow Skin Clinic <reminders@glow.example>\"");
    }
    if (s.timeout_seconds < 1 || s.timeout_seconds > 600) problems.Add("smtp.timeout_seconds", "1 to 600");
    out.smtp = s;
  }
  if (const auto* t = root["webhook"].as_table()) {
    KnownKeys(*t, "webhook", {"url", "secret", "secret_file", "ca_file", "timeout_seconds"}, &problems);
    WebhookSettings w;
    w.url = (*t)["url"].value_or(std::string());
    w.secret = ReadSecret(*t, "webhook", "secret", "secret_file", base, &problems);
    w.ca_file = (*t)["ca_file"].value_or(std::string());
    w.timeout_seconds = static_cast<int>((*t)["timeout_seconds"].value_or(std::int64_t{10}));
    if (w.url.rfind("https://", 0) != 0 && w.url.rfind("http://", 0) != 0) {
      problems.Add("webhook.url", "must start with https:// (or http:// for a receiver on the same machine)");
    }
    if (w.secret.size() < 16) problems.Add("webhook.secret", "at least 16 characters (give secret_file)");
    if (w.timeout_seconds < 1 || w.timeout_seconds > 600) problems.Add("webhook.timeout_seconds", "1 to 600");
    out.webhook = w;
  }
  if (const auto* t = root["retry"].as_table()) {
    KnownKeys(*t, "retry", {"max_attempts", "first_delay", "max_delay"}, &problems);
    out.retry.max_attempts = static_cast<int>((*t)["max_attempts"].value_or(std::int64_t{10}));
    if (out.retry.max_attempts < 1 || out.retry.max_attempts > 100) problems.Add("retry.max_attempts", "1 to 100");
    if (auto d = Delay((*t)["first_delay"], "retry.first_delay", &problems)) out.retry.first_delay = *d;
    if (auto d = Delay((*t)["max_delay"], "retry.max_delay", &problems)) out.retry.max_delay = *d;
    if (out.retry.max_delay < out.retry.first_delay) problems.Add("retry.max_delay", "shorter than first_delay");
  }
  if (!out.smtp && !out.webhook) problems.Add("top level", "configure [smtp], [webhook] or both");
  if (!problems.list.empty()) {
    std::string message = std::string(origin) + ": " + problems.list.front();
    if (problems.list.size() > 1) message += " (and " + std::to_string(problems.list.size() - 1) + " more problems)";
    return MakeError(message);
  }
  return out;
}

}  // namespace

Result<DeliverySettings> ParseDeliverySettings(std::string_view toml_text, std::string_view origin) {
  return ParseSettings(toml_text, origin, std::filesystem::current_path());
}

Result<DeliverySettings> LoadDeliverySettings(const std::string& path) {
  auto text = ReadTextFile(path);
  if (!text) return text.error();
  return ParseSettings(*text, path, std::filesystem::absolute(path).parent_path());
}

}  // namespace aftercare
