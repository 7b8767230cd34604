# The PostgreSQL tier against a real PostgreSQL 15: each test process starts one server
# (tests/support/postgres_server.h), a fresh cluster in a temporary directory on a free
# loopback port, and each test case works on a table of its own.
find_package(PostgreSQL REQUIRED)

add_library(postgres_fixture STATIC ${PROJECT_SOURCE_DIR}/tests/support/postgres_server.cc)
target_include_directories(postgres_fixture PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(postgres_fixture PUBLIC test_process)

add_executable(postgres_tier_tests
  postgres_key_range_test.cc
  postgres_tier_test.cc
  postgres_failure_test.cc
  ${PROJECT_SOURCE_DIR}/tests/test_main.cc)
target_link_libraries(postgres_tier_tests PRIVATE
  postgres_fixture tiercache_postgres PostgreSQL::PostgreSQL Catch2::Catch2 Threads::Threads)
catch_discover_tests(postgres_tier_tests TEST_PREFIX "postgres: "
                     PROPERTIES LABELS "integration" TIMEOUT 120)

# The change feed over LISTEN, with the trigger that deploy/sql/notify/ ships for the
# application's database (read from the source tree).
add_executable(postgres_change_feed_tests
  postgres_change_feed_test.cc
  ${PROJECT_SOURCE_DIR}/tests/test_main.cc)
target_compile_definitions(postgres_change_feed_tests PRIVATE
  TIERCACHE_NOTIFY_SQL="${PROJECT_SOURCE_DIR}/deploy/sql/notify/model_changes.sql")
target_link_libraries(postgres_change_feed_tests PRIVATE
  postgres_fixture tiercache_postgres PostgreSQL::PostgreSQL Catch2::Catch2
  nlohmann_json::nlohmann_json Threads::Threads)
catch_discover_tests(postgres_change_feed_tests TEST_PREFIX "postgres: "
                     PROPERTIES LABELS "integration" TIMEOUT 120)

# The `sql` warming source: a query's rows as cache entries, streamed through a cursor.
add_executable(sql_warm_source_tests
  sql_warm_source_test.cc
  ${PROJECT_SOURCE_DIR}/tests/test_main.cc)
target_link_libraries(sql_warm_source_tests PRIVATE
  postgres_fixture tiercache_postgres Catch2::Catch2 nlohmann_json::nlohmann_json
  Threads::Threads)
catch_discover_tests(sql_warm_source_tests TEST_PREFIX "postgres: "
                     PROPERTIES LABELS "integration" TIMEOUT 120)
