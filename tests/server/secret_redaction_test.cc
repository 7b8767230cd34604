#include "server/secret_redaction.h"

#include <catch2/catch.hpp>

namespace tiercache {
namespace {

TEST_CASE("LooksSecretMatchesCredentialNamesInAnyCase", "[redaction]") {
  for (const char* name :
       {"Authorization", "authorization", "Proxy-Authorization", "Cookie", "X-Api-Key", "x-api-key",
        "X-Auth-Token", "X-ACCESS-TOKEN", "X-Client-Secret", "X-Password", "X-Session-Id",
        "api_key", "token", "X-Amz-Signature"}) {
    INFO(name);
    CHECK(LooksSecret(name));
  }
}

TEST_CASE("LooksSecretKeepsOrdinaryNames", "[redaction]") {
  for (const char* name : {"Accept", "Content-Type", "User-Agent", "X-Request-Id", "Host",
                           "If-None-Match", "page", "sort"}) {
    INFO(name);
    CHECK_FALSE(LooksSecret(name));
  }
}

TEST_CASE("RedactUrlHidesThePasswordAndKeepsTheUserAndHost", "[redaction]") {
  CHECK(RedactUrl("redis://cache:hunter2@10.0.0.5:6380/2") ==
        "redis://cache:<redacted>@10.0.0.5:6380/2");
  CHECK(RedactUrl("redis://:hunter2@redis.internal") == "redis://:<redacted>@redis.internal");
  CHECK(RedactUrl("redis://cache:hunter2@[::1]:6379") == "redis://cache:<redacted>@[::1]:6379");
}

TEST_CASE("RedactUrlLeavesUrlsWithoutAPasswordAlone", "[redaction]") {
  for (const char* url :
       {"redis://127.0.0.1:6379", "redis://[::1]:6379/0", "redis://host/3",
        "http://origin.internal:8000/app", "redis://cache@host", "redis://cache:@host", ""}) {
    INFO(url);
    CHECK(RedactUrl(url) == url);
  }
}

TEST_CASE("RedactUrlHidesAPercentEncodedPasswordWhole", "[redaction]") {
  CHECK(RedactUrl("redis://us%40er:p%40ss%3Aw%2Fd%20@host/1") ==
        "redis://us%40er:<redacted>@host/1");
}

TEST_CASE("RedactUrlEndsCredentialsAtTheLastAtSignAsTheRedisTierDoes", "[redaction]") {
  // The Redis tier allows a raw '@' in the password: the host follows the last one.
  CHECK(RedactUrl("redis://cache:p@ss@w0rd@host:6379") == "redis://cache:<redacted>@host:6379");
  // ':' in the password: the user ends at the first one.
  CHECK(RedactUrl("redis://cache:a:b:c@host") == "redis://cache:<redacted>@host");
}

TEST_CASE("RedactUrlHidesAPasswordHoldingARawSlash", "[redaction]") {
  // "cache:pa" cannot be host:port, so the '/' must be inside the credentials.
  CHECK(RedactUrl("redis://cache:pa/ss@host:6379") == "redis://cache:<redacted>@host:6379");
  CHECK(RedactUrl("redis://cache:/x@host") == "redis://cache:<redacted>@host");
}

TEST_CASE("RedactUrlKeepsAnAtSignInThePathOfAUrlWithoutCredentials", "[redaction]") {
  CHECK(RedactUrl("http://origin:8000/users/@me") == "http://origin:8000/users/@me");
  CHECK(RedactUrl("http://origin/@scope/pkg") == "http://origin/@scope/pkg");
}

TEST_CASE("RedactUrlHidesSecretLookingQueryParameters", "[redaction]") {
  CHECK(RedactUrl("/api/report?token=abc&page=2&api_key=k#top") ==
        "/api/report?token=<redacted>&page=2&api_key=<redacted>#top");
  // Names are matched decoded, as servers read them; one that does not decode is hidden.
  CHECK(RedactUrl("/a?to%6Ben=abc") == "/a?to%6Ben=<redacted>");
  CHECK(RedactUrl("/a?%zz=abc") == "/a?%zz=<redacted>");
  CHECK(RedactUrl("http://h/a?Session=abc") == "http://h/a?Session=<redacted>");
}

TEST_CASE("RedactUrlKeepsQueriesWithNothingToHide", "[redaction]") {
  for (const char* url : {"/a?page=2&sort=name", "/a?token=", "/a?token&flag", "/a#token=x", "/a?",
                          "/login?next=/token"}) {
    INFO(url);
    CHECK(RedactUrl(url) == url);
  }
}

TEST_CASE("RedactPostgresDsnHidesAnUnquotedPassword", "[redaction]") {
  CHECK(RedactPostgresDsn("host=db port=5432 dbname=app user=cache password=hunter2") ==
        "host=db port=5432 dbname=app user=cache password=<redacted>");
  CHECK(RedactPostgresDsn("password=hunter2 host=db") == "password=<redacted> host=db");
}

TEST_CASE("RedactPostgresDsnHidesAQuotedPasswordWithEscapes", "[redaction]") {
  // libpq: the value is `a b'c`; the escaped quote does not end it.
  CHECK(RedactPostgresDsn(R"(host=db password='a b\'c' dbname=app)") ==
        "host=db password=<redacted> dbname=app");
  CHECK(RedactPostgresDsn(R"(password='x\\' user=u)") == "password=<redacted> user=u");
  // An escaped space does not end an unquoted value either.
  CHECK(RedactPostgresDsn(R"(password=a\ b user=u)") == "password=<redacted> user=u");
}

TEST_CASE("RedactPostgresDsnReadsSpacesAroundEqualsAsLibpqDoes", "[redaction]") {
  CHECK(RedactPostgresDsn("host = db\tpassword =  hunter2 user=u") ==
        "host = db\tpassword =  <redacted> user=u");
  // libpq skips the spaces after '=' and takes "host=db" as the password.
  CHECK(RedactPostgresDsn("password= host=db") == "password= <redacted>");
}

TEST_CASE("RedactPostgresDsnHidesEveryLibpqSecretKeyword", "[redaction]") {
  CHECK(RedactPostgresDsn("sslpassword=k3y host=db") == "sslpassword=<redacted> host=db");
  CHECK(RedactPostgresDsn("oauth_client_secret=s host=db") ==
        "oauth_client_secret=<redacted> host=db");
  CHECK(RedactPostgresDsn("PASSWORD=hunter2") == "PASSWORD=<redacted>");
}

TEST_CASE("RedactPostgresDsnKeepsPassfileAndOtherPaths", "[redaction]") {
  CHECK(RedactPostgresDsn("host=db passfile=/etc/tiercache/pgpass sslkey=/etc/k.pem user=u") ==
        "host=db passfile=/etc/tiercache/pgpass sslkey=/etc/k.pem user=u");
  CHECK(RedactPostgresDsn("passfile='/etc/pg pass' password=hunter2") ==
        "passfile='/etc/pg pass' password=<redacted>");
}

TEST_CASE("RedactPostgresDsnDoesNotMistakeAValueForAKeyword", "[redaction]") {
  CHECK(RedactPostgresDsn("application_name='password=x' host=db") ==
        "application_name='password=x' host=db");
}

TEST_CASE("RedactPostgresDsnKeepsEmptyPasswordsAndBareDatabaseNames", "[redaction]") {
  CHECK(RedactPostgresDsn("password='' host=db") == "password='' host=db");
  CHECK(RedactPostgresDsn("host=db password=") == "host=db password=");
  // Without '=' or a URI prefix libpq takes the whole text as a database name.
  CHECK(RedactPostgresDsn("tiercache") == "tiercache");
  CHECK(RedactPostgresDsn("") == "");
}

TEST_CASE("RedactPostgresDsnHidesTheRestOfADsnLibpqCouldNotParse", "[redaction]") {
  CHECK(RedactPostgresDsn("host=db password='unterminated user=u") == "host=db <redacted>");
  CHECK(RedactPostgresDsn("host=db hunter2 password=x") == "host=db <redacted>");
  CHECK(RedactPostgresDsn(R"(host=db password='ends in backslash\)") == "host=db <redacted>");
}

TEST_CASE("RedactPostgresDsnHidesPasswordsOfUris", "[redaction]") {
  CHECK(RedactPostgresDsn("postgresql://cache:hunter2@db:5432/app?sslmode=require") ==
        "postgresql://cache:<redacted>@db:5432/app?sslmode=require");
  CHECK(RedactPostgresDsn("postgres://cache:hunter2@h1:5432,h2:5433/app") ==
        "postgres://cache:<redacted>@h1:5432,h2:5433/app");
  CHECK(RedactPostgresDsn("postgresql://db/app?user=u&password=hunter2&pass%77ord=x") ==
        "postgresql://db/app?user=u&password=<redacted>&pass%77ord=<redacted>");
  CHECK(RedactPostgresDsn("postgresql://u:p%2Fw%40d@db/app") == "postgresql://u:<redacted>@db/app");
}

TEST_CASE("RedactPostgresDsnKeepsUrisWithoutSecrets", "[redaction]") {
  for (const char* dsn : {"postgresql://cache@db/app?passfile=/etc/pgpass&sslkey=/k.pem",
                          "postgresql:///app?host=/var/run/postgresql", "postgres://db:5432"}) {
    INFO(dsn);
    CHECK(RedactPostgresDsn(dsn) == dsn);
  }
}

}  // namespace
}  // namespace tiercache
