// Load on a Redis server, timed with TestCase::measure(): each hit increments a counter
// key and reads it back; both calls are requests in every report ("redis INCR",
// "redis GET"), failed when Redis answers an error or the connection breaks.
//
// The environment variable LOADS_REDIS=HOST:PORT names the server (default
// 127.0.0.1:6379); --server-url takes http(s) and ws(s) URLs only. Agents need it in
// their environment too.
// hiredis is a blocking client: a call holds its runner thread until Redis answers, so
// give the run as many threads as users (-t) when the latency matters.
#include <hiredis/hiredis.h>

#include <cstdlib>
#include <loads/loads.hpp>
#include <memory>
#include <string>

namespace {

struct RedisFree {
  void operator()(redisContext* c) const { redisFree(c); }
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, RedisFree>;

}  // namespace

class RedisCounter : public loads::TestCase {
 public:
  RedisCounter() {
    const char* env = std::getenv("LOADS_REDIS");
    const std::string where = env && *env ? env : "127.0.0.1:6379";
    const auto colon = where.rfind(':');
    const std::string host = colon == std::string::npos ? where : where.substr(0, colon);
    const int port = colon == std::string::npos ? 6379 : std::stoi(where.substr(colon + 1));
    redis_.reset(redisConnect(host.c_str(), port));
    if (!redis_ || redis_->err) {
      throw std::runtime_error("cannot connect to Redis at " + where + ": " +
                               (redis_ ? redis_->errstr : "out of memory"));
    }
  }

  void test_incr_and_get() {
    long long after = 0;
    measure("redis INCR", [&](loads::Measurement& m) {
      Reply reply(command("INCR loads:example:hits"));
      if (!reply || reply->type != REDIS_REPLY_INTEGER) return m.fail(loads::ErrorKind::kProtocol);
      after = reply->integer;
    });
    measure("redis GET", [&](loads::Measurement& m) {
      Reply reply(command("GET loads:example:hits"));
      if (!reply || reply->type != REDIS_REPLY_STRING) return m.fail(loads::ErrorKind::kProtocol);
      m.setBytes(reply->len);
      assertTrue(std::stoll(std::string(reply->str, reply->len)) >= after, "the counter went back");
    });
  }

 private:
  redisReply* command(const char* text) {
    auto* reply = static_cast<redisReply*>(redisCommand(redis_.get(), text));
    if (!reply) throw loads::RequestError(loads::ErrorKind::kReset, redis_->errstr);
    return reply;
  }

  std::unique_ptr<redisContext, RedisFree> redis_;
};

LOADS_TEST_CASE(RedisCounter, test_incr_and_get);
