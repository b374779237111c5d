# Scoring benchmarks: answer-extraction accuracy on the held-out set of model outputs. The grader
# is shared with the held-out test (tests/scoring/heldout_grader.h).
if(TARGET ipw_scoring)
  add_executable(extraction_accuracy ${CMAKE_CURRENT_LIST_DIR}/extraction_accuracy.cpp)
  target_link_libraries(extraction_accuracy PRIVATE ipw_scoring nlohmann_json::nlohmann_json)
  target_include_directories(extraction_accuracy PRIVATE ${PROJECT_SOURCE_DIR}/tests/scoring)
  target_compile_definitions(extraction_accuracy PRIVATE
    IPW_HELDOUT_FILE="${PROJECT_SOURCE_DIR}/tests/fixtures/extraction/heldout.jsonl")
endif()
