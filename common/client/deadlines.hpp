// Deadlines: the request timeouts of one runner thread, on one timer.
//
// Beast's basic_stream arms and cancels a timer around every read and write (a timer
// queue insert and removal, a handler, clock reads: several per hit, bench/RESULTS.md,
// issue #13). Here a request registers its deadline in an intrusive list (no
// allocation, no timer operation) and unregisters it when done; one timer per
// io_context is armed for the earliest deadline only when a new deadline comes before
// the armed one, which with one timeout for all requests happens once per timeout
// period, or when the list was empty (the timer is cancelled when the last entry goes:
// a pending wait would keep io_context::run() from returning). When the timer fires, every entry
// past its deadline is marked expired and its `expire` function is called (it closes the socket, so
// the pending operation completes with an error that the owner reports as a timeout).
//
// Thread-safety: none. One per io_context (an Asio service: Deadlines::of(io)); used
// only from the thread that runs that io_context. An Entry must stay registered no
// longer than it lives (Scope does both).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>

namespace loads::detail {

class Deadlines : public boost::asio::io_context::service {
 public:
  using Clock = std::chrono::steady_clock;

  struct Entry {
    Clock::time_point deadline;
    void (*expire)(void* arg) = nullptr;  // called once, from the timer's handler
    void* arg = nullptr;
    bool expired = false;  // the deadline passed while registered
    Entry* prev = nullptr;
    Entry* next = nullptr;
  };

  // Registers `entry` for the time of a scope.
  class Scope {
   public:
    Scope(Deadlines& deadlines, Entry& entry) : deadlines_(deadlines), entry_(entry) {
      deadlines_.add(entry_);
    }
    ~Scope() { deadlines_.remove(entry_); }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    Deadlines& deadlines_;
    Entry& entry_;
  };

  static boost::asio::io_context::id id;
  explicit Deadlines(boost::asio::io_context& io)
      : boost::asio::io_context::service(io),
        timer_(std::make_unique<boost::asio::steady_timer>(io)) {}
  static Deadlines& of(boost::asio::io_context& io) {
    return boost::asio::use_service<Deadlines>(io);
  }

  void add(Entry& entry) {
    entry.expired = false;
    entry.prev = tail_;
    entry.next = nullptr;
    (tail_ ? tail_->next : head_) = &entry;
    tail_ = &entry;
    if (timer_ && (!armed_ || entry.deadline < armedAt_)) arm(entry.deadline);
  }
  void remove(Entry& entry) {
    if (entry.expired) return;  // already unlinked by the timer
    unlink(entry);
    // A pending wait is outstanding work: io_context::run() would not return until it
    // fired. None is left waiting once nothing is registered.
    if (!head_ && armed_ && timer_) {
      armed_ = false;
      timer_->cancel();
    }
  }

 private:
  void unlink(Entry& entry) {
    (entry.prev ? entry.prev->next : head_) = entry.next;
    (entry.next ? entry.next->prev : tail_) = entry.prev;
    entry.prev = entry.next = nullptr;
  }

  void shutdown() override {
    timer_.reset();  // before the timer service goes (services are destroyed newest first)
    head_ = tail_ = nullptr;
  }

  void arm(Clock::time_point at) {
    armed_ = true;
    armedAt_ = at;
    timer_->expires_at(at);
    timer_->async_wait([this](const boost::system::error_code& ec) {
      if (!ec) fire();
    });
  }

  // Expires every entry past its deadline, then arms for the earliest of the others.
  void fire() {
    armed_ = false;
    const auto now = Clock::now();
    Entry* earliest = nullptr;
    for (Entry* e = head_; e;) {
      Entry* next = e->next;
      if (e->deadline <= now) {
        unlink(*e);
        e->expired = true;
        e->expire(e->arg);
      } else if (!earliest || e->deadline < earliest->deadline) {
        earliest = e;
      }
      e = next;
    }
    if (earliest && timer_) arm(earliest->deadline);
  }

  std::unique_ptr<boost::asio::steady_timer> timer_;
  Entry* head_ = nullptr;
  Entry* tail_ = nullptr;
  bool armed_ = false;
  Clock::time_point armedAt_{};
};

inline boost::asio::io_context::id Deadlines::id;

}  // namespace loads::detail
