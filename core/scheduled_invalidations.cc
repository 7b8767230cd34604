#include "core/scheduled_invalidations.h"

#include <cstdio>
#include <future>
#include <random>
#include <utility>

#include "core/byte_codec.h"

namespace tiercache {

namespace {

// The stored form:
//   version (1 byte)
//   keys: varint count, then each length-prefixed; tags: the same
//   pattern: 1 byte present?, then length-prefixed
//   model: 1 byte present?, then name, event (1 byte), varint field count, name/value pairs
constexpr uint8_t kFormatVersion = 1;

void PutList(std::string& out, const std::vector<std::string>& items) {
  codec::PutVarint(out, items.size());
  for (const auto& item : items) codec::PutBytes(out, item);
}

bool ReadList(codec::Reader& in, std::vector<std::string>& out) {
  uint64_t count;
  if (!in.Varint(count) || count > in.left()) return false;
  for (uint64_t i = 0; i < count; ++i) {
    std::string item;
    if (!in.Bytes(item)) return false;
    out.push_back(std::move(item));
  }
  return true;
}

Status Malformed() { return Status::InvalidArgument("malformed stored invalidation"); }

}  // namespace

std::string EncodeInvalidateRequest(const InvalidateRequest& request) {
  std::string out;
  out.push_back(static_cast<char>(kFormatVersion));
  PutList(out, request.keys);
  PutList(out, request.tags);
  out.push_back(request.pattern ? 1 : 0);
  if (request.pattern) codec::PutBytes(out, *request.pattern);
  out.push_back(request.model ? 1 : 0);
  if (request.model) {
    codec::PutBytes(out, request.model->model);
    out.push_back(static_cast<char>(request.model->event));
    codec::PutVarint(out, request.model->fields.size());
    for (const auto& [name, value] : request.model->fields) {
      codec::PutBytes(out, name);
      codec::PutBytes(out, value);
    }
  }
  // Last, and only when set: jobs stored before namespaces existed read back the same.
  if (!request.ns.empty()) {
    out.push_back(1);
    codec::PutBytes(out, request.ns);
  }
  return out;
}

Result<InvalidateRequest> DecodeInvalidateRequest(std::string_view bytes) {
  codec::Reader in(bytes);
  uint8_t version, has;
  if (!in.Byte(version) || version != kFormatVersion) return Malformed();
  InvalidateRequest request;
  if (!ReadList(in, request.keys) || !ReadList(in, request.tags)) return Malformed();
  if (!in.Byte(has) || has > 1) return Malformed();
  if (has) {
    if (!in.Bytes(request.pattern.emplace())) return Malformed();
  }
  if (!in.Byte(has) || has > 1) return Malformed();
  if (has) {
    ModelInvalidation& m = request.model.emplace();
    uint8_t event;
    uint64_t fields;
    if (!in.Bytes(m.model) || !in.Byte(event) || event > 1 || !in.Varint(fields) ||
        fields > in.left()) {
      return Malformed();
    }
    m.event = static_cast<ModelEvent>(event);
    for (uint64_t i = 0; i < fields; ++i) {
      std::string name, value;
      if (!in.Bytes(name) || !in.Bytes(value)) return Malformed();
      m.fields[std::move(name)] = std::move(value);
    }
  }
  if (in.left() != 0) {
    if (!in.Byte(has) || has != 1 || !in.Bytes(request.ns) || request.ns.empty()) {
      return Malformed();
    }
  }
  if (in.left() != 0) return Malformed();
  return request;
}

ScheduledInvalidations::ScheduledInvalidations(Service& service, Scheduler& scheduler,
                                               JobStore* store)
    : service_(service), scheduler_(scheduler), store_(store) {}

std::string ScheduledInvalidations::Describe(const InvalidateRequest& r) {
  std::string d;
  const auto add = [&](const std::string& part) { d += (d.empty() ? "" : ", ") + part; };
  if (!r.keys.empty()) add(std::to_string(r.keys.size()) + " key(s)");
  if (!r.tags.empty()) {
    std::string tags;
    for (const auto& t : r.tags) tags += (tags.empty() ? "" : " ") + t;
    add("tags " + tags);
  }
  if (r.pattern) add("pattern " + *r.pattern);
  if (r.model) {
    auto id = r.model->fields.find("id");
    add("model " + r.model->model +
        (id != r.model->fields.end() ? " id " + id->second : std::string()) + " " +
        std::string(ModelEventName(r.model->event)));
  }
  return d;
}

std::function<void()> ScheduledInvalidations::RunnerFor(std::string id,
                                                        InvalidateRequest request) {
  return [this, id = std::move(id), request = std::move(request)] {
    // The run waits for its invalidation, so that a job listed as running is still at work
    // and a stop lets it finish.
    std::promise<void> finished;
    service_.Invalidate(Frontend::Internal(), request,
                        [&finished](Result<InvalidateResult>) { finished.set_value(); });
    finished.get_future().wait();
    if (store_) store_->Remove(id, [](Status) {});
  };
}

std::string ScheduledInvalidations::NewId() {
  // Random, not sequential: ids stay unique across restarts and instances sharing a store.
  thread_local std::mt19937_64 random{std::random_device{}()};
  char id[24];
  std::snprintf(id, sizeof(id), "inv-%016llx", static_cast<unsigned long long>(random()));
  return id;
}

void ScheduledInvalidations::Add(const std::string& id, WallTime due, InvalidateRequest request) {
  const std::string description = Describe(request);
  // A clash of two random 64-bit ids is not worth a retry path.
  (void)scheduler_.ScheduleAtWithId(id, due, std::string(kKind), description,
                                    RunnerFor(id, std::move(request)));
}

void ScheduledInvalidations::Schedule(Duration delay, InvalidateRequest request,
                                      Callback<Result<ScheduledJob>> done) {
  if (delay < Duration::zero()) {
    return done(Status::InvalidArgument("delay_seconds must not be negative"));
  }
  const WallTime due = std::chrono::system_clock::now() +
                       std::chrono::duration_cast<std::chrono::system_clock::duration>(delay);
  std::string encoded = store_ ? EncodeInvalidateRequest(request) : std::string();
  const std::string id = NewId();
  Add(id, due, std::move(request));
  if (!store_) return done(ScheduledJob{id, due, false});
  store_->Save(StoredJob{id, due, std::move(encoded)},
               [id, due, done = std::move(done)](Status s) {
                 done(ScheduledJob{id, due, s.ok()});
               });
}

Result<size_t> ScheduledInvalidations::Restore(Duration timeout) {
  if (!store_) return size_t{0};
  auto answer = std::make_shared<std::promise<Result<std::vector<StoredJob>>>>();
  auto future = answer->get_future();
  store_->LoadAll([answer](Result<std::vector<StoredJob>> jobs) {
    answer->set_value(std::move(jobs));
  });
  if (future.wait_for(timeout) != std::future_status::ready) {
    return Status::DeadlineExceeded("the job store did not answer");
  }
  auto jobs = future.get();
  if (!jobs.ok()) return jobs.status();
  size_t restored = 0;
  for (StoredJob& job : *jobs) {
    auto request = DecodeInvalidateRequest(job.request);
    if (!request.ok()) {
      store_->Remove(job.id, [](Status) {});
      continue;
    }
    Add(job.id, job.due, std::move(request).value());
    ++restored;
  }
  return restored;
}

bool ScheduledInvalidations::Cancel(std::string_view id) {
  const bool cancelled = scheduler_.Cancel(id);
  if (cancelled && store_) store_->Remove(std::string(id), [](Status) {});
  return cancelled;
}

}  // namespace tiercache
