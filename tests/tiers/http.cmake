# The http warming source against a tiny origin on a loopback port (tests/support/test_origin).
add_executable(http_warm_source_tests
  http_warm_source_test.cc
  ${PROJECT_SOURCE_DIR}/tests/support/test_origin.cc
  ${PROJECT_SOURCE_DIR}/tests/test_main.cc)
target_link_libraries(http_warm_source_tests PRIVATE tiercache_http_source tiercache_core
  test_process Catch2::Catch2 Boost::headers Threads::Threads)
catch_discover_tests(http_warm_source_tests TEST_PREFIX "http: " PROPERTIES LABELS "unit")
