#pragma once

#include <string>
#include <string_view>

namespace tiercache {

// Hiding credentials in settings shown to operators (the effective configuration in the
// status document). Each function keeps everything that is not a secret as written, so the
// result still tells which host, user and database are used. They err on the side of
// hiding: text they cannot make sense of is redacted rather than shown.

// What a secret is replaced with.
inline constexpr std::string_view kRedacted = "<redacted>";

// Whether a header or query-parameter name is likely to carry a credential: it contains
// auth, cookie, credential, key, pass, secret, session, signature or token, in any case
// (Authorization, Cookie, X-Api-Key, X-Auth-Token, ...).
bool LooksSecret(std::string_view name);

// `url` with the password of scheme://user:password@host replaced (the user is kept) and
// the value of every query parameter whose percent-decoded name LooksSecret replaced. Works
// on a bare path too ("/api?token=x"). The credentials end at the last '@' before the first
// '/', as the Redis tier reads them; a password holding a raw '/' is still found when
// what precedes the '/' cannot be host[:port].
std::string RedactUrl(std::string_view url);

// `dsn`, a libpq connection string, with its secrets replaced: the values of the keywords
// password, sslpassword and oauth_client_secret, in both the keyword=value form
// (`password='a b'`, with libpq's quoting and escapes) and the postgres[ql]:// URI form
// (user:password@ and ?password=...). Other keywords, passfile and sslkey included (paths,
// not secrets), are kept. A keyword=value string libpq could not parse is redacted from
// the first pair it cannot read.
std::string RedactPostgresDsn(std::string_view dsn);

}  // namespace tiercache
