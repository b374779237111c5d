# Energy module benchmarks: sampler CPU cost at 1 kHz, and attribution accuracy against a
# synthetic load with known per-query energy.
if(TARGET ipw_energy)
  add_executable(sampler_cost ${CMAKE_CURRENT_LIST_DIR}/sampler_cost.cpp)
  target_link_libraries(sampler_cost PRIVATE ipw_energy)
  add_executable(attribution_truth ${CMAKE_CURRENT_LIST_DIR}/attribution_truth.cpp)
  target_link_libraries(attribution_truth PRIVATE ipw_energy)
endif()
