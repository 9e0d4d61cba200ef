// parseSimpleHead (client/simple_response.hpp): the common response head is read without
// Beast, and every head of another kind, or one it is not sure of, is left to Beast.
#include "client/simple_response.hpp"

#include <catch2/catch.hpp>
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

bool parse(const std::string& head, SimpleHead& out, Headers& headers,
           std::uint64_t bodyLimit = 1 << 20) {
  const std::size_t end = headEnd(head);
  REQUIRE(end == head.size());
  return parseSimpleHead(head, end, bodyLimit, out, headers);
}

}  // namespace

TEST_CASE("nginx's head is read: status, every field in order, length, keep-alive") {
  SimpleHead head;
  Headers headers{{"kept", "as is"}};
  REQUIRE(parse(kNginx, head, headers));
  CHECK(head.status == 200);
  CHECK(head.contentLength == 53);
  CHECK(head.keepAlive);
  CHECK(head.bytes == kNginx.size());
  REQUIRE(headers.size() == 9);
  CHECK(headers[0].first == "kept");
  CHECK(headers[1] == std::pair<std::string, std::string>("Server", "nginx/1.22.1"));
  CHECK(headers[4] == std::pair<std::string, std::string>("Content-Length", "53"));
  CHECK(headers[7] == std::pair<std::string, std::string>("ETag", "\"692e0d20-35\""));
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
            "X-Empty:\r\nconnection: Keep-Alive, CLOSE\r\ncontent-length: 0\r\n\r\n",
            head, headers));
  CHECK(head.status == 404);
  CHECK(head.contentLength == 0);
  CHECK_FALSE(head.keepAlive);
  CHECK(headers[0].second == "a\tb");
  CHECK(headers[1].second == "caf\xc3\xa9 and a long value here");
  CHECK(headers[2].second.empty());
}

TEST_CASE("every other kind of head is left to Beast, and the fields stay as they were") {
  const char* others[] = {
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
  };
  for (const char* other : others) {
    INFO(other);
    SimpleHead head;
    Headers headers{{"kept", "as is"}};
    const std::string text(other);
    const std::size_t end = headEnd(text);
    REQUIRE(end > 0);
    CHECK_FALSE(parseSimpleHead(text, end, 1 << 20, head, headers));
    CHECK(headers.size() == 1);
  }
  SimpleHead head;
  Headers headers;
  CHECK_FALSE(parse("HTTP/1.1 200 OK\r\nContent-Length: 2000000\r\n\r\n", head, headers, 1 << 20));
}
