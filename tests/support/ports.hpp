#pragma once

#include <cstdint>

namespace modelgate::test_support {

/// A port on 127.0.0.1 that nothing listens on right now (bound to :0, then closed), for
/// "upstream refused" tests.
std::uint16_t unused_port();

}  // namespace modelgate::test_support
