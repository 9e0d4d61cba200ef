// ResponseReader: Beast's HTTP/1.1 response parser writing straight into a Response's
// status, headers and body.
//
// http::response_parser<string_body> builds a basic_fields (one allocation and a
// red-black tree insert per header) that the Session then copied into Response::headers_:
// the largest user-space cost of a hit in the profile (bench/RESULTS.md, issue #13).
// This parser keeps Beast's tokenizer and limits and skips that intermediate.
//
// One per exchange (Beast parsers are single-use), on the user's coroutine stack; the
// destination strings must outlive it. Included only by session.cpp.
#pragma once

#include <boost/beast/http/basic_parser.hpp>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace loads::detail {

class ResponseReader final : public boost::beast::http::basic_parser<false> {
 public:
  using Headers = std::vector<std::pair<std::string, std::string>>;

  ResponseReader(int& status, Headers& headers, std::string& body)
      : status_(status), headers_(headers), body_(body) {}

 private:
  using error_code = boost::system::error_code;
  using string_view = boost::beast::string_view;

  void on_request_impl(boost::beast::http::verb, string_view, string_view, int,
                       error_code&) override {}
  void on_response_impl(int code, string_view, int, error_code&) override { status_ = code; }
  void on_field_impl(boost::beast::http::field, string_view name, string_view value,
                     error_code&) override {
    headers_.emplace_back(std::piecewise_construct, std::forward_as_tuple(name.data(), name.size()),
                          std::forward_as_tuple(value.data(), value.size()));
  }
  void on_header_impl(error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>& length, error_code&) override {
    if (length) body_.reserve(static_cast<std::size_t>(*length));
  }
  std::size_t on_body_impl(string_view data, error_code&) override {
    body_.append(data.data(), data.size());
    return data.size();
  }
  void on_chunk_header_impl(std::uint64_t, string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, string_view data, error_code&) override {
    body_.append(data.data(), data.size());
    return data.size();
  }
  void on_finish_impl(error_code&) override {}

  int& status_;
  Headers& headers_;
  std::string& body_;
};

}  // namespace loads::detail
