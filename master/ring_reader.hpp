// RingReader: the local master's reader of its child slave's EventRing. The master maps
// the ring the slave records into (agent/event_ring.hpp), so it replays the records in
// place into its AggregateResult: no forwarder thread in the slave, no ZeroMQ, no copy
// (the slave runs with --results ring). A record is in the ring once published, so what
// the slave recorded is replayed whether it exits or dies; the reader frees a record's
// bytes once it has replayed them (the slave's writers wait for room, never drop).
//
// Thread-safety: start(), finish() and the counters from one thread (the master's follow
// loop); the reader's own thread alone calls the sink. The sink must outlive the reader.
// Takes ownership of its mapping of the ring.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>

namespace loads {
class AggregateResult;
}

namespace loads::agent {
class EventRing;
}

namespace loads::master {

class RingReader {
 public:
  RingReader(std::unique_ptr<agent::EventRing> ring, AggregateResult& sink,
             std::chrono::milliseconds pollInterval = std::chrono::milliseconds(2));
  ~RingReader();  // finish()
  RingReader(const RingReader&) = delete;
  RingReader& operator=(const RingReader&) = delete;

  // Replays records as they come, on the reader's thread.
  void start();
  // The slave has ended: replays every record it published, then stops. Idempotent.
  void finish();

  std::uint64_t events() const { return events_; }      // in the records read
  std::uint64_t replayed() const { return replayed_; }  // of them replayed (the rest malformed)
  std::uint64_t tooLarge() const;                       // larger than a slot: never recorded

 private:
  void loop();
  void drain();  // every slot up to its head

  std::unique_ptr<agent::EventRing> ring_;
  AggregateResult& sink_;
  std::chrono::milliseconds pollInterval_;
  std::mutex mutex_;  // guards finishing_
  std::condition_variable wake_;
  bool finishing_ = false;
  std::atomic<std::uint64_t> events_{0};
  std::atomic<std::uint64_t> replayed_{0};
  std::thread thread_;
};

}  // namespace loads::master
