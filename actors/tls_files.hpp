#pragma once

// Checks of the files behind `cluster.tls` before the node uses them. CAF's
// OpenSSL module reads them only when a connection comes in, and a file it
// cannot use then ends the process; a node must refuse to start instead.

#include <string>

#include "actors/config.hpp"

namespace sb {

/// Loads certificate, key and CA of `tls` the way a TLS connection will:
/// the certificate chain must pass OpenSSL's security level, the key must be
/// unencrypted PEM and match the certificate, and the certificate must be
/// signed by the CA. Returns an error that starts with the key of the file
/// at fault, or an empty string.
std::string check_tls_files(const tls_config& tls);

} // namespace sb
