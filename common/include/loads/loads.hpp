// The one header a test library includes.
#pragma once

#include "loads/data.hpp"
#include "loads/session.hpp"
#include "loads/status.hpp"
#include "loads/test_case.hpp"
#include "loads/version.hpp"
#include "loads/websocket.hpp"
