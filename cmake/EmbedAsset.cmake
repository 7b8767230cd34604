# Turns a text file into a C++ source defining `std::string_view NAME()` that returns the
# file's bytes, so the daemon serves it without reading anything at run time.
# cmake -DINPUT=file -DOUTPUT=file.cc -DNAMESPACE=ns -DNAME=Function -DHEADER=dir/file.h
#       -P EmbedAsset.cmake
foreach(var INPUT OUTPUT NAMESPACE NAME HEADER)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "EmbedAsset.cmake: -D${var}=... is required")
  endif()
endforeach()

file(READ "${INPUT}" content)
# The file goes into a raw string literal: its closing sequence must not occur in it.
set(delimiter "tc_asset")
string(FIND "${content}" ")${delimiter}\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} contains ')${delimiter}\"', which would end the raw string")
endif()

file(WRITE "${OUTPUT}"
  "// Generated from ${INPUT} by cmake/EmbedAsset.cmake; edit that file instead.\n"
  "#include \"${HEADER}\"\n\n"
  "namespace ${NAMESPACE} {\n\n"
  "std::string_view ${NAME}() {\n"
  "  static constexpr std::string_view kText = R\"${delimiter}(")
file(APPEND "${OUTPUT}" "${content}")
file(APPEND "${OUTPUT}" ")${delimiter}\";\n  return kText;\n}\n\n}  // namespace ${NAMESPACE}\n")
