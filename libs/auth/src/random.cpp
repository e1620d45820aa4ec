// SPDX-License-Identifier: Apache-2.0
#include "random.hpp"

#include <sys/random.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace pf::auth::detail {

Result<void> random_bytes(std::span<std::uint8_t> out) {
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::getrandom(out.data() + done, out.size() - done, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return make_error(Errc::io, std::string("getrandom failed: ") + std::strerror(errno),
                        "getrandom");
    }
    done += static_cast<std::size_t>(n);
  }
  return {};
}

}  // namespace pf::auth::detail
