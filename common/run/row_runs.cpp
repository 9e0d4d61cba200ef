#include "run/row_runs.hpp"

namespace loads {
namespace {

bool mulAdd(std::uint64_t a, std::uint64_t b, std::uint64_t c, std::uint64_t& out) {
  std::uint64_t product = 0;
  return !__builtin_mul_overflow(a, b, &product) && !__builtin_add_overflow(product, c, &out);
}

}  // namespace

std::optional<std::uint64_t> RowRun::element(std::string_view feed, std::uint64_t k) const {
  auto it = shift.find(feed);
  std::uint64_t start = 0, out = 0;
  if (__builtin_add_overflow(offset, it == shift.end() ? 0 : it->second, &start) ||
      !mulAdd(k, stride, start, out)) {
    return std::nullopt;
  }
  return out;
}

std::optional<std::uint64_t> shareRow(std::uint32_t share, std::uint32_t shares,
                                      std::uint64_t users, std::uint64_t k) {
  // The share's users of the cycle: share, share + shares, … below `users`.
  const std::uint64_t own = share < users ? (users - share + shares - 1) / shares : 0;
  if (own == 0) return std::nullopt;
  const std::uint64_t block = k / own, user = share + (k % own) * shares;
  std::uint64_t row = 0;
  if (!mulAdd(block, users, user, row)) return std::nullopt;
  return row;
}

std::optional<std::vector<RowRun>> remainingRows(std::vector<RowRun> runs,
                                                 const RowClaims& claims) {
  for (const auto& [key, claim] : claims) {
    const auto& [feed, index] = key;
    if (index >= runs.size() || claim.upTo == 0) continue;
    RowRun& run = runs[index];
    std::uint64_t& shift = run.shift[feed];
    if (!mulAdd(claim.upTo, run.stride, shift, shift)) return std::nullopt;
  }
  return runs;
}

std::optional<std::vector<RowRun>> shareOfRows(const std::vector<RowRun>& left, std::uint32_t index,
                                               std::uint32_t count) {
  std::vector<RowRun> out;
  for (RowRun run : left) {
    if (!mulAdd(index, run.stride, run.offset, run.offset) ||
        __builtin_mul_overflow(run.stride, std::uint64_t{count}, &run.stride)) {
      return std::nullopt;
    }
    out.push_back(std::move(run));
  }
  return out;
}

}  // namespace loads
