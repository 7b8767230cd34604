# The Redis tier against a real redis-server: each test case starts its own
# (tests/support/redis_server.h) on a free loopback port in a temporary directory, which
# takes well under 0.1 s, so cases never see each other's keys.
add_library(redis_fixture STATIC ${PROJECT_SOURCE_DIR}/tests/support/redis_server.cc)
target_include_directories(redis_fixture PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(redis_fixture PUBLIC test_process tiercache_core)

add_executable(redis_tier_tests
  redis_options_test.cc
  redis_tier_test.cc
  redis_tags_test.cc
  redis_failure_test.cc
  redis_bench_test.cc
  redis_coherence_test.cc
  ${PROJECT_SOURCE_DIR}/tests/test_main.cc)
target_link_libraries(redis_tier_tests PRIVATE
  redis_fixture tiercache_redis Catch2::Catch2 Threads::Threads)
catch_discover_tests(redis_tier_tests TEST_PREFIX "redis: "
                     PROPERTIES LABELS "integration" TIMEOUT 120)

# The Redis Cluster slot and the weighted rendezvous hashing: pure functions, no server.
add_executable(redis_hashing_tests redis_hashing_test.cc ${PROJECT_SOURCE_DIR}/tests/test_main.cc)
target_link_libraries(redis_hashing_tests PRIVATE tiercache_redis Catch2::Catch2)
catch_discover_tests(redis_hashing_tests TEST_PREFIX "redis: " PROPERTIES LABELS "unit")
