# tiercache_grpc_library(TARGET ROOT PROTO): generates the protobuf and gRPC C++ code of
# ROOT/PROTO (PROTO relative to ROOT, e.g. tiercache/v1/cache.proto) into the build tree
# and compiles it once into the static library TARGET.
function(tiercache_grpc_library target root proto)
  set(gen_dir ${CMAKE_CURRENT_BINARY_DIR}/gen)
  file(MAKE_DIRECTORY ${gen_dir})
  string(REGEX REPLACE "\\.proto$" "" stem ${proto})
  set(srcs ${gen_dir}/${stem}.pb.cc ${gen_dir}/${stem}.grpc.pb.cc)
  set(hdrs ${gen_dir}/${stem}.pb.h ${gen_dir}/${stem}.grpc.pb.h)
  add_custom_command(
    OUTPUT ${srcs} ${hdrs}
    COMMAND protobuf::protoc
      --proto_path=${root}
      --cpp_out=${gen_dir}
      --grpc_out=${gen_dir}
      --plugin=protoc-gen-grpc=$<TARGET_FILE:gRPC::grpc_cpp_plugin>
      ${root}/${proto}
    DEPENDS ${root}/${proto}
    COMMENT "Generating ${proto}")
  add_library(${target} STATIC ${srcs})
  target_include_directories(${target} PUBLIC ${gen_dir})
  target_link_libraries(${target} PUBLIC protobuf::libprotobuf gRPC::grpc++)
  target_compile_options(${target} PRIVATE -w)
endfunction()
