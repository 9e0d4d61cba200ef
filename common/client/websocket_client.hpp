// Opening a WebSocket for a virtual user, outside a TestCase (TestCase::createWs and
// the unit tests use it).
#pragma once

#include <memory>
#include <string_view>

#include "loads/websocket.hpp"

namespace loads::detail {

struct UserContext;

// Connects and handshakes from the user's coroutine; reports the "WS /path" hit and
// socketOpen. Throws RequestError when the socket could not be opened, and
// std::invalid_argument for a URL that is not ws(s)://, http(s):// or a path with a
// server URL. The caller owns the socket; the user must outlive it.
std::shared_ptr<WebSocket> openWebSocket(UserContext& user, std::string_view url,
                                         WsCallback onMessage, const WsOptions& options);

}  // namespace loads::detail
