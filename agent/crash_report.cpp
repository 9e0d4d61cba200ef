#include "agent/crash_report.hpp"

#include <cxxabi.h>
#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <vector>

#include "agent/event_ring.hpp"
#include "agent/slave_process.hpp"

namespace loads::agent {
namespace {

struct Symbol {
  std::uint64_t start = 0, size = 0;
  std::string name;
};

// The function symbols of one ELF file (its .symtab, else its .dynsym), by address.
class SymbolTable {
 public:
  explicit SymbolTable(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    struct stat st {};
    void* map = MAP_FAILED;
    if (::fstat(fd, &st) == 0 && st.st_size > static_cast<off_t>(sizeof(Elf64_Ehdr))) {
      map = ::mmap(nullptr, static_cast<std::size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
    }
    ::close(fd);
    if (map == MAP_FAILED) return;
    read(static_cast<const char*>(map), static_cast<std::size_t>(st.st_size));
    ::munmap(map, static_cast<std::size_t>(st.st_size));
    std::sort(symbols_.begin(), symbols_.end(),
              [](const Symbol& a, const Symbol& b) { return a.start < b.start; });
  }

  // "name+0x1c" for an ELF virtual address; "" when no function holds it.
  std::string lookup(std::uint64_t vaddr) const {
    auto it = std::upper_bound(symbols_.begin(), symbols_.end(), vaddr,
                               [](std::uint64_t v, const Symbol& s) { return v < s.start; });
    if (it == symbols_.begin()) return "";
    --it;
    if (it->size > 0 && vaddr >= it->start + it->size) return "";
    char offset[32];
    std::snprintf(offset, sizeof offset, "+0x%llx",
                  static_cast<unsigned long long>(vaddr - it->start));
    return demangle(it->name) + offset;
  }

 private:
  static std::string demangle(const std::string& name) {
    int status = 0;
    std::unique_ptr<char, void (*)(void*)> out(
        abi::__cxa_demangle(name.c_str(), nullptr, nullptr, &status), std::free);
    return status == 0 && out ? std::string(out.get()) : name;
  }

  void read(const char* file, std::size_t size) {
    const auto* eh = reinterpret_cast<const Elf64_Ehdr*>(file);
    if (std::memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
        eh->e_shentsize != sizeof(Elf64_Shdr) || eh->e_shoff > size ||
        eh->e_shnum > (size - eh->e_shoff) / sizeof(Elf64_Shdr)) {
      return;
    }
    const auto* sections = reinterpret_cast<const Elf64_Shdr*>(file + eh->e_shoff);
    for (Elf64_Word wanted : {SHT_SYMTAB, SHT_DYNSYM}) {
      for (std::size_t i = 0; i < eh->e_shnum; ++i) {
        const Elf64_Shdr& sh = sections[i];
        if (sh.sh_type != wanted || sh.sh_link >= eh->e_shnum) continue;
        const Elf64_Shdr& strings = sections[sh.sh_link];
        if (sh.sh_offset > size || sh.sh_size > size - sh.sh_offset || strings.sh_offset > size ||
            strings.sh_size > size - strings.sh_offset) {
          continue;
        }
        const auto* symbols = reinterpret_cast<const Elf64_Sym*>(file + sh.sh_offset);
        for (std::size_t k = 0; k < sh.sh_size / sizeof(Elf64_Sym); ++k) {
          const Elf64_Sym& sym = symbols[k];
          if (ELF64_ST_TYPE(sym.st_info) != STT_FUNC || sym.st_value == 0 ||
              sym.st_name >= strings.sh_size) {
            continue;
          }
          const char* name = file + strings.sh_offset + sym.st_name;
          symbols_.push_back({sym.st_value, sym.st_size,
                              std::string(name, strnlen(name, strings.sh_size - sym.st_name))});
        }
      }
      if (!symbols_.empty()) return;  // .symtab has it all; .dynsym only when stripped
    }
  }

  std::vector<Symbol> symbols_;
};

std::string boundedText(const char* text, std::size_t size) { return {text, strnlen(text, size)}; }

std::string sentence(const proto::CrashInfo& c, const RawCrash* raw) {
  std::string s = "killed by " + c.signalName;
  if (raw && raw->stackOverflow) s += " (stack overflow: the stack ran into its guard page)";
  if (raw && raw->note[0]) s += " (" + boundedText(raw->note, sizeof raw->note) + ")";
  if (!c.test.empty()) {
    s += " in " + c.test + " (user " + std::to_string(c.user) + ", hit " + std::to_string(c.hit) +
         ")";
  }
  if (!raw && c.signal == 9) {
    s += ": sent by neither the slave nor its parent; the kernel's out-of-memory killer "
         "sends SIGKILL";
  } else if (!raw) {
    s += " (no crash record: the signal came from outside)";
  }
  return s;
}

}  // namespace

proto::CrashInfo describeCrash(const EventRing& ring, int signal, const std::string& executable,
                               const std::map<std::string, std::string>& names) {
  proto::CrashInfo c;
  c.signal = signal;
  c.signalName = signalName(signal);
  const RawCrash* raw = ring.crash();
  if (raw && raw->signal == signal) {
    c.test = boundedText(raw->test, sizeof raw->test);
    c.user = raw->user;
    c.hit = raw->hit;
    const std::vector<RawModule> modules = ring.modules();
    std::map<std::string, std::unique_ptr<SymbolTable>> tables;
    const std::uint32_t count = std::min<std::uint32_t>(raw->frameCount, RawCrash::kMaxFrames);
    // The handler's own frames and the kernel's signal trampoline come first: the stack
    // of the crash starts at the interrupted pc.
    std::uint32_t first = 0;
    while (first < count && raw->frames[first] != raw->pc) ++first;
    if (first == count) first = 0;
    for (std::uint32_t i = first; i < count; ++i) {
      // A return address points after its call: look the call itself up (the first frame
      // is where the thread was, exact).
      const std::uint64_t pc = raw->frames[i] - (i > first ? 1 : 0);
      proto::CrashFrame frame;
      frame.offset = pc;
      for (const RawModule& m : modules) {
        if (pc < m.start || pc >= m.end) continue;
        std::string path = boundedText(m.path, sizeof m.path);
        if (path.empty()) path = executable;
        frame.offset = pc - m.base;
        auto& table = tables[path];
        if (!table) table = std::make_unique<SymbolTable>(path);
        frame.function = table->lookup(frame.offset);
        auto renamed = names.find(path);
        frame.module = renamed != names.end() ? renamed->second
                                              : std::filesystem::path(path).filename().string();
        break;
      }
      c.frames.push_back(std::move(frame));
    }
  } else {
    raw = nullptr;
  }
  c.description = sentence(c, raw);
  return c;
}

std::string formatFrames(const proto::CrashInfo& crash, const std::string& indent) {
  std::string out;
  for (std::size_t i = 0; i < crash.frames.size(); ++i) {
    const auto& f = crash.frames[i];
    char offset[32];
    std::snprintf(offset, sizeof offset, "0x%llx", static_cast<unsigned long long>(f.offset));
    // Template-heavy names run to kilobytes: the console shows their start.
    const std::string name =
        f.function.size() > 160 ? f.function.substr(0, 157) + "..." : f.function;
    out += indent + "#" + std::to_string(i) + " " + (f.module.empty() ? "?" : f.module) + " " +
           (name.empty() ? std::string(offset) : name + " [" + offset + "]") + "\n";
  }
  return out;
}

}  // namespace loads::agent
