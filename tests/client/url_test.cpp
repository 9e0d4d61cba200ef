// What loads-master accepts as --server-url (the base of every request and createWs path).
#include "client/url.hpp"

#include <catch2/catch.hpp>

using loads::detail::serverUrlProblem;

TEST_CASE("a server URL is http(s) or ws(s) with a host") {
  for (const char* good :
       {"http://127.0.0.1:8080", "https://staging.example/api/", "ws://127.0.0.1:1/ws",
        "wss://[::1]:9443", "HTTP://Example.COM", "http://user@host/x?y=1"}) {
    INFO(good);
    CHECK(serverUrlProblem(good).empty());
  }
  struct Bad {
    const char* url;
    const char* says;
  };
  for (const Bad& bad :
       {Bad{"ht!tp://x", "does not start with"}, Bad{"ftp://host", "does not start with"},
        Bad{"127.0.0.1:8080", "does not start with"}, Bad{"//host/x", "does not start with"},
        Bad{"http://", "no host"}, Bad{"https://:443/x", "no host"},
        Bad{"ws://host:port", "not a number"}, Bad{"wss://", "no host"},
        Bad{"http://ex ample.com", "space"}}) {
    INFO(bad.url);
    CHECK_THAT(serverUrlProblem(bad.url), Catch::Contains(bad.says));
  }
}
