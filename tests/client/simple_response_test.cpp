// parseSimpleHead (client/simple_response.hpp): the common response head is read without
// Beast, and every head of another kind, or one it is not sure of, is left to Beast.
#include "client/simple_response.hpp"

#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <vector>

using loads::detail::headEnd;
using loads::detail::parseSimpleHead;
using loads::detail::SimpleHead;
using Headers = std::vector<std::pair<std::string, std::string>>;

namespace {

const std::string kNginx =
    "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Tue, 01 Dec 2026 21:01:25 GMT\r\n"
    "Content-Type: application/octet-stream\r\nContent-Length: 53\r\n"
    "Last-Modified: Tue, 01 Dec 2026 21:01:20 GMT\r\nConnection: keep-alive\r\n"
    "ETag: \"692e0d20-35\"\r\nAccept-Ranges: bytes\r\n\r\n";

// The fields of an accepted head, as forEachField reads them from the field lines.
Headers fieldsOf(std::string_view text, const SimpleHead& head) {
  Headers fields;
  loads::detail::forEachField(text.substr(head.fieldsAt, head.fieldsBytes),
                              [&](std::string_view name, std::string_view value) {
                                fields.emplace_back(name, value);
                                return true;
                              });
  return fields;
}

bool parse(const std::string& head, SimpleHead& out, Headers& headers,
           std::uint64_t bodyLimit = 1 << 20) {
  const std::size_t end = headEnd(head);
  REQUIRE(end == head.size());
  if (!parseSimpleHead(head, end, bodyLimit, out)) return false;
  headers = fieldsOf(head, out);
  return true;
}

}  // namespace

TEST_CASE("nginx's head is read: status, every field in order, length, keep-alive") {
  SimpleHead head;
  Headers headers;
  REQUIRE(parse(kNginx, head, headers));
  CHECK(head.status == 200);
  CHECK(head.contentLength == 53);
  CHECK(head.keepAlive);
  CHECK_FALSE(head.setCookie);
  CHECK(head.bytes == kNginx.size());
  CHECK(kNginx.substr(head.fieldsAt, 6) == "Server");
  CHECK(head.fieldsAt + head.fieldsBytes + 2 == kNginx.size());
  REQUIRE(headers.size() == 8);
  CHECK(headers[0] == std::pair<std::string, std::string>("Server", "nginx/1.22.1"));
  CHECK(headers[3] == std::pair<std::string, std::string>("Content-Length", "53"));
  CHECK(headers[6] == std::pair<std::string, std::string>("ETag", "\"692e0d20-35\""));
}

TEST_CASE("the end of a head is found wherever the reads cut it") {
  for (std::size_t cut = 0; cut < kNginx.size(); ++cut) {
    CHECK(headEnd(std::string_view(kNginx).substr(0, cut)) == 0);
  }
  CHECK(headEnd(kNginx + "body bytes") == kNginx.size());
  CHECK(headEnd("\r\n\r") == 0);
  CHECK(headEnd("x\r\n\r\n") == 5);
}

TEST_CASE("field values: white space trimmed, tabs and obs-text kept, Connection: close seen") {
  SimpleHead head;
  Headers headers;
  REQUIRE(
      parse("HTTP/1.1 404 \r\nX-A:\t a\tb \t\r\nX-B: caf\xc3\xa9 and a long value here\r\n"
            "X-Empty:\r\nconnection: Keep-Alive, CLOSE\r\ncontent-length: 0\r\n"
            "SET-COOKIE: a=1\r\n\r\n",
            head, headers));
  CHECK(head.status == 404);
  CHECK(head.contentLength == 0);
  CHECK_FALSE(head.keepAlive);
  CHECK(head.setCookie);
  REQUIRE(headers.size() == 6);
  CHECK(headers[5] == std::pair<std::string, std::string>("SET-COOKIE", "a=1"));
  CHECK(headers[0].second == "a\tb");
  CHECK(headers[1].second == "caf\xc3\xa9 and a long value here");
  CHECK(headers[2].second.empty());
}

TEST_CASE("every other kind of head is left to Beast") {
  using namespace std::string_view_literals;
  const std::string_view others[] = {
      "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n",           // 1.0
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",  // chunked
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: gzip\r\n\r\n",
      "HTTP/1.1 200 OK\r\nServer: x\r\n\r\n",                  // to EOF
      "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n",  // no body
      "HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n",
      "HTTP/1.1 101 Switching\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 099 X\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",  // twice
      "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 1 2\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nX-Fold: a\r\n b\r\n\r\n",  // obs-fold
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nBad Name: a\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n: a\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nX-Ctl: a\x01z and more text\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nX-Del: a\x7f\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nX-LF: a\nb\r\n\r\n",
      "HTTP/1.1 200 O\x01K\r\nContent-Length: 1\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nNo-Colon\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nX-CR: a\rb\r\n\r\n",
      "HTTP/1.1 200 O\nK\r\nContent-Length: 1\r\n\r\n",          // a bare LF ...
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nX: a\n\r\n\r\n",  // ... before a CRLF
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nX: a\r\r\n\r\n",  // a CR before a CRLF
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nX: a\0"
      "b\r\n\r\n"sv,  // NUL
  };
  for (std::string_view other : others) {
    INFO(std::string(other));
    SimpleHead head;
    const std::string text(other);
    const std::size_t end = headEnd(text);
    REQUIRE(end > 0);
    CHECK_FALSE(parseSimpleHead(text, end, 1 << 20, head));
  }
  SimpleHead head;
  Headers headers;
  CHECK_FALSE(parse("HTTP/1.1 200 OK\r\nContent-Length: 2000000\r\n\r\n", head, headers, 1 << 20));
}

// Differential: many heads near the common kind, mangled a few bytes at a time. Every
// head the fast path accepts, Beast's parser accepts too, with the same status, length,
// keep-alive and fields, in order; the rest go to Beast anyway. headEnd finds the first
// blank line wherever it is, as a plain search does.
TEST_CASE("whatever the fast path accepts, Beast reads the same way") {
  namespace http = boost::beast::http;
  const std::string bases[] = {
      kNginx,
      "HTTP/1.1 302 Found\r\nLocation: /next?a=1\r\nSet-Cookie: s=1; Path=/\r\n"
      "Set-Cookie: t=2\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
      "HTTP/1.1 500 \r\nX-A:\t a\tb \t\r\nContent-Length: 7\r\nConnection: keep-alive, x\r\n\r\n",
      "HTTP/1.1 200 OK\r\nProxy-Connection: ,close\r\nContent-Length: 3\r\nUpgrade: h2c\r\n\r\n",
  };
  const char alphabet[] = {'\r', '\n', ' ', '\t', ':', '\0',   '\x7f', '\x80', 'a', 'Z',
                           '0',  '9',  ',', '"',  '-', '\x01', 'H',    '/',    '1', 'e'};
  std::mt19937 random(20261202);
  int accepted = 0, rejected = 0;
  for (int round = 0; round < 60000; ++round) {
    std::string text = bases[round % std::size(bases)];
    const int edits = 1 + static_cast<int>(random() % 3);
    for (int e = 0; e < edits && !text.empty(); ++e) {
      const std::size_t at = random() % text.size();
      const char c = alphabet[random() % sizeof alphabet];
      switch (random() % 3) {
        case 0:
          text[at] = c;
          break;
        case 1:
          text.insert(text.begin() + static_cast<long>(at), c);
          break;
        default:
          text.erase(at, 1);
          break;
      }
    }
    const std::size_t end = headEnd(text);
    const std::size_t blank = text.find("\r\n\r\n");  // headEnd, the slow way
    REQUIRE(end == (blank == std::string::npos ? 0 : blank + 4));
    if (end == 0) continue;
    SimpleHead head;
    if (!parseSimpleHead(text, end, 1 << 20, head)) {
      ++rejected;
      continue;
    }
    ++accepted;
    INFO(text);
    http::response_parser<http::empty_body> beast;
    beast.eager(false);
    boost::system::error_code ec;
    const std::size_t used = beast.put(boost::asio::buffer(text.data(), end), ec);
    REQUIRE_FALSE(ec);
    REQUIRE(beast.is_header_done());
    CHECK(used == end);
    CHECK(beast.get().result_int() == static_cast<unsigned>(head.status));
    REQUIRE(beast.content_length().has_value());
    CHECK(*beast.content_length() == head.contentLength);
    CHECK(beast.keep_alive() == head.keepAlive);
    Headers theirs;
    for (const auto& field : beast.get()) theirs.emplace_back(field.name_string(), field.value());
    CHECK(fieldsOf(text, head) == theirs);
  }
  // Both outcomes are common, or the test says little.
  INFO(accepted << " accepted, " << rejected << " rejected");
  CHECK(accepted > 10000);
  CHECK(rejected > 10000);
}
