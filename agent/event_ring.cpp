#include "agent/event_ring.hpp"

#include <fcntl.h>
#include <link.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace loads::agent {

namespace {
constexpr std::uint64_t kMagic = 0x4c4f414453524e47;  // "LOADSRNG"
constexpr std::uint32_t kVersion = 1;
constexpr std::size_t kRecordHeader = 8;  // u32 bytes, u32 events
}  // namespace

struct EventRing::Header {
  std::uint64_t magic;
  std::uint32_t version;
  std::uint32_t slots;
  std::uint64_t slotBytes;
  std::atomic<std::uint32_t> taken;       // a slave took the ring (its pid)
  std::atomic<std::uint32_t> nextSlot;    // slots claimed so far
  std::atomic<std::uint32_t> crashState;  // 0 none, 1 being written, 2 written
  std::atomic<std::uint64_t> tooLarge;    // events larger than a slot, dropped
  std::uint32_t moduleCount;
  std::atomic<std::uint32_t> finalSent;  // the slave sent STOP-TEST-RUN itself
  struct Entry {
    std::atomic<std::uint64_t> seq;  // 0 while being written
    SentBatch batch;
  } sent[kRetained];
  RawCrash crash;
  RawModule modules[kMaxModules];
};

struct alignas(64) EventRing::Slot {
  alignas(64) std::atomic<std::uint64_t> head;  // bytes published (writer)
  alignas(64) std::atomic<std::uint64_t> tail;  // bytes freed (retention over)
  std::atomic<std::uint64_t> sentTo;            // bytes in batches noted
  alignas(64) std::atomic<std::uint32_t> lock;  // writers of a shared slot
};

static_assert(std::atomic<std::uint64_t>::is_always_lock_free, "the ring needs lock-free atomics");

namespace {

std::size_t dataOffset(std::uint32_t slots) {
  const std::size_t fixed = sizeof(EventRing::Header) + slots * sizeof(EventRing::Slot);
  return (fixed + 4095) & ~std::size_t{4095};
}

char* slotData(void* base, const EventRing::Header& h, std::uint32_t i) {
  return static_cast<char*>(base) + dataOffset(h.slots) + i * h.slotBytes;
}

// Copies into / out of a ring of `size` bytes at position `at` (any value: modulo).
void ringWrite(char* ring, std::size_t size, std::uint64_t at, const void* from, std::size_t n) {
  const std::size_t offset = at % size;
  const std::size_t first = std::min(n, size - offset);
  std::memcpy(ring + offset, from, first);
  std::memcpy(ring, static_cast<const char*>(from) + first, n - first);
}

void ringRead(const char* ring, std::size_t size, std::uint64_t at, void* to, std::size_t n) {
  const std::size_t offset = at % size;
  const std::size_t first = std::min(n, size - offset);
  std::memcpy(to, ring + offset, first);
  std::memcpy(static_cast<char*>(to) + first, ring, n - first);
}

}  // namespace

std::unique_ptr<EventRing> EventRing::create(std::uint32_t slots, std::size_t slotBytes) {
  slots = std::max<std::uint32_t>(1, slots);
  slotBytes = (std::max<std::size_t>(slotBytes, 4096) + 4095) & ~std::size_t{4095};
  const std::size_t bytes = dataOffset(slots) + slots * slotBytes;
  const int fd = ::memfd_create("loads-events", MFD_CLOEXEC);
  if (fd < 0) throw std::runtime_error(std::string("memfd_create: ") + std::strerror(errno));
  if (::ftruncate(fd, static_cast<off_t>(bytes)) != 0) {
    ::close(fd);
    throw std::runtime_error(std::string("cannot size the event ring: ") + std::strerror(errno));
  }
  void* base = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) {
    ::close(fd);
    throw std::runtime_error(std::string("cannot map the event ring: ") + std::strerror(errno));
  }
  auto* h = new (base) Header{};  // the pages are zero: this only starts the objects' lives
  h->version = kVersion;
  h->slots = slots;
  h->slotBytes = slotBytes;
  for (std::uint32_t i = 0; i < slots; ++i) {
    new (static_cast<char*>(base) + sizeof(Header) + i * sizeof(Slot)) Slot{};
  }
  h->magic = kMagic;
  return std::unique_ptr<EventRing>(new EventRing(fd, base, bytes));
}

std::unique_ptr<EventRing> EventRing::attach(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0 || static_cast<std::size_t>(st.st_size) < sizeof(Header)) {
    return nullptr;
  }
  const auto bytes = static_cast<std::size_t>(st.st_size);
  void* base = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) return nullptr;
  const auto* h = static_cast<const Header*>(base);
  if (h->magic != kMagic || h->version != kVersion ||
      dataOffset(h->slots) + h->slots * h->slotBytes > bytes) {
    ::munmap(base, bytes);
    return nullptr;
  }
  return std::unique_ptr<EventRing>(new EventRing(fd, base, bytes));
}

EventRing::EventRing(int fd, void* base, std::size_t bytes)
    : fd_(fd), base_(base), bytes_(bytes), header_(static_cast<Header*>(base)) {}

EventRing::~EventRing() {
  ::munmap(base_, bytes_);
  ::close(fd_);
}

EventRing::Slot& EventRing::slot(std::uint32_t i) const {
  return *reinterpret_cast<Slot*>(static_cast<char*>(base_) + sizeof(Header) + i * sizeof(Slot));
}

// ---------------------------------------------------------------- slave side

void EventRing::take() { header_->taken.store(static_cast<std::uint32_t>(::getpid())); }

std::uint32_t EventRing::claimSlot() { return header_->nextSlot.fetch_add(1) % header_->slots; }

void EventRing::append(std::uint32_t index, std::string_view packed, std::uint32_t events) {
  const std::uint64_t size = header_->slotBytes;
  const std::uint64_t need = kRecordHeader + packed.size();
  if (need > size) {
    header_->tooLarge.fetch_add(events);
    return;
  }
  Slot& s = slot(index);
  while (s.lock.exchange(1, std::memory_order_acquire) != 0) std::this_thread::yield();
  const std::uint64_t head = s.head.load(std::memory_order_relaxed);
  // Back-pressure: a full slot waits until the sender has sent (and retained) enough.
  while (head + need - s.tail.load(std::memory_order_acquire) > size) {
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  char* data = slotData(base_, *header_, index);
  const std::uint32_t record[2] = {static_cast<std::uint32_t>(packed.size()), events};
  const std::uint64_t offset = head % size;
  if (offset + need <= size) {  // the common case: no wrap, one division
    std::memcpy(data + offset, record, kRecordHeader);
    std::memcpy(data + offset + kRecordHeader, packed.data(), packed.size());
  } else {
    ringWrite(data, size, head, record, kRecordHeader);
    ringWrite(data, size, head + kRecordHeader, packed.data(), packed.size());
  }
  s.head.store(head + need, std::memory_order_release);
  s.lock.store(0, std::memory_order_release);
}

bool EventRing::claimCrash() {
  std::uint32_t none = 0;
  return header_->crashState.compare_exchange_strong(none, 1);
}

RawCrash& EventRing::crashRecord() { return header_->crash; }

void EventRing::publishCrash() { header_->crashState.store(2, std::memory_order_release); }

void EventRing::recordModules() {
  header_->moduleCount = 0;
  ::dl_iterate_phdr(
      [](dl_phdr_info* info, std::size_t, void* data) {
        auto* h = static_cast<Header*>(data);
        if (h->moduleCount >= kMaxModules) return 1;
        RawModule& m = h->modules[h->moduleCount];
        m = RawModule{};
        m.base = info->dlpi_addr;
        m.start = ~std::uint64_t{0};
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const auto& ph = info->dlpi_phdr[i];
          if (ph.p_type != PT_LOAD) continue;
          m.start = std::min<std::uint64_t>(m.start, info->dlpi_addr + ph.p_vaddr);
          m.end = std::max<std::uint64_t>(m.end, info->dlpi_addr + ph.p_vaddr + ph.p_memsz);
        }
        if (info->dlpi_name) std::strncpy(m.path, info->dlpi_name, sizeof m.path - 1);
        if (m.end > m.start) ++h->moduleCount;
        return 0;
      },
      header_);
}

// ---------------------------------------------------------------- parent side

bool EventRing::taken() const { return header_->taken.load() != 0; }

std::unique_ptr<EventRing> EventRing::share() const {
  const int fd = ::fcntl(fd_, F_DUPFD_CLOEXEC, 0);
  if (fd < 0)
    throw std::runtime_error(std::string("cannot share the event ring: ") + std::strerror(errno));
  auto ring = attach(fd);
  if (!ring) {
    ::close(fd);
    throw std::runtime_error("cannot share the event ring");
  }
  return ring;
}

std::size_t EventRing::slotBytes() const { return header_->slotBytes; }

std::uint32_t EventRing::slotsUsed() const {
  return std::min(header_->nextSlot.load(), header_->slots);
}

std::uint64_t EventRing::head(std::uint32_t i) const {
  return slot(i).head.load(std::memory_order_acquire);
}

std::uint64_t EventRing::sentTo(std::uint32_t i) const { return slot(i).sentTo.load(); }

std::uint64_t EventRing::read(std::uint32_t index, std::uint64_t from, std::size_t maxBytes,
                              const Sink& sink) {
  const std::uint64_t size = header_->slotBytes;
  const char* data = slotData(base_, *header_, index);
  const std::uint64_t head = slot(index).head.load(std::memory_order_acquire);
  std::uint64_t at = from;
  while (at + kRecordHeader <= head && at - from < maxBytes) {
    std::uint32_t record[2];
    ringRead(data, size, at, record, kRecordHeader);
    const std::uint64_t body = at + kRecordHeader;
    if (record[0] > size || body + record[0] > head) break;  // not a record: a bad writer
    if (body % size + record[0] <= size) {
      sink({data + body % size, record[0]}, record[1]);
    } else {
      wrapped_.resize(record[0]);
      ringRead(data, size, body, wrapped_.data(), record[0]);
      sink({wrapped_.data(), record[0]}, record[1]);
    }
    at = body + record[0];
  }
  return at;
}

void EventRing::noteBatch(const SentBatch& batch) {
  Header::Entry& e = header_->sent[batch.seq % kRetained];
  const std::uint64_t old = e.seq.load();
  if (old != 0) {  // retained long enough: its bytes may be written over now
    Slot& s = slot(e.batch.slot);
    if (s.tail.load() < e.batch.to) s.tail.store(e.batch.to, std::memory_order_release);
  }
  e.seq.store(0, std::memory_order_release);
  e.batch = batch;
  e.seq.store(batch.seq, std::memory_order_release);
  Slot& s = slot(batch.slot);
  s.sentTo.store(batch.to, std::memory_order_release);
  // Retention never holds more than half a slot (large batches): the writer must always
  // find room once its records are sent. The oldest batches of the slot go first.
  while (batch.to - s.tail.load() > header_->slotBytes / 2) {
    Header::Entry* oldest = nullptr;
    for (auto& other : header_->sent) {
      if (other.seq.load() != 0 && other.batch.slot == batch.slot && other.batch.seq != batch.seq &&
          (!oldest || other.batch.seq < oldest->batch.seq)) {
        oldest = &other;
      }
    }
    if (!oldest) break;
    const std::uint64_t to = oldest->batch.to;
    oldest->seq.store(0, std::memory_order_release);
    if (s.tail.load() < to) s.tail.store(to, std::memory_order_release);
  }
}

void EventRing::skipTo(std::uint32_t index, std::uint64_t to) {
  Slot& s = slot(index);
  if (s.sentTo.load() < to && to <= s.head.load()) s.sentTo.store(to);
}

void EventRing::release(std::uint32_t index, std::uint64_t to) {
  Slot& s = slot(index);
  s.sentTo.store(to, std::memory_order_release);
  s.tail.store(to, std::memory_order_release);
}

void EventRing::markFinalSent() { header_->finalSent.store(1, std::memory_order_release); }

bool EventRing::finalSent() const { return header_->finalSent.load() != 0; }

std::vector<SentBatch> EventRing::retained() const {
  std::vector<SentBatch> out;
  for (const auto& e : header_->sent) {
    const std::uint64_t seq = e.seq.load(std::memory_order_acquire);
    if (seq == 0 || e.batch.seq != seq || e.batch.slot >= header_->slots ||
        e.batch.from > e.batch.to || e.batch.to - e.batch.from > header_->slotBytes) {
      continue;  // being written when the slave died, or garbage
    }
    out.push_back(e.batch);
  }
  std::sort(out.begin(), out.end(),
            [](const SentBatch& a, const SentBatch& b) { return a.seq < b.seq; });
  return out;
}

const RawCrash* EventRing::crash() const {
  return header_->crashState.load(std::memory_order_acquire) == 2 ? &header_->crash : nullptr;
}

std::vector<RawModule> EventRing::modules() const {
  const std::uint32_t n = std::min<std::uint32_t>(header_->moduleCount, kMaxModules);
  return {header_->modules, header_->modules + n};
}

std::uint64_t EventRing::tooLarge() const { return header_->tooLarge.load(); }

}  // namespace loads::agent
