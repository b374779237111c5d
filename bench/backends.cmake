# timing_truth: how exactly the OpenAI backend measures TTFT and latency, against delays the
# in-process fixture server injects. Needs the fixture library (built with the tests).
if(TARGET ipw_fixture AND TARGET ipw_backends)
  add_executable(timing_truth ${CMAKE_CURRENT_LIST_DIR}/timing_truth.cpp)
  target_link_libraries(timing_truth PRIVATE ipw_backends ipw_fixture Threads::Threads)
endif()
