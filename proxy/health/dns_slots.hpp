#pragma once
// Which slot of a DNS-named backend holds which address. Pure: the resolver loop feeds it what
// the name resolved to and applies the result to the pool's live state.

#include <string>
#include <vector>

namespace modelgate::proxy {

/// Keeps the addresses of a name that carry traffic as IPv4 when there are any (so "localhost"
/// means 127.0.0.1, not also ::1), else IPv6; sorted, without duplicates.
std::vector<std::string> preferred_addresses(std::vector<std::string> resolved);

/// The new slot contents ("" = empty) after a resolution returned `addresses`: an address still
/// present keeps its slot (its connections, health and hash-ring position stay), a gone one
/// leaves its slot empty, and new ones fill empty slots in order. Addresses beyond the slot
/// count are left out (the caller logs them). `current.size()` slots in, as many out.
std::vector<std::string> assign_slots(const std::vector<std::string>& current,
                                      const std::vector<std::string>& addresses);

}  // namespace modelgate::proxy
