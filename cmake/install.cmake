# cmake --install: the public headers (include/gammaq only), the static libraries, the CLI and
# a package configuration, so that another project does
#   find_package(gammaq REQUIRED)
#   target_link_libraries(app PRIVATE gammaq::gammaq)
# (docs/library.md). Internal headers (src/) are never installed.
include(CMakePackageConfigHelpers)

get_property(gammaq_libraries GLOBAL PROPERTY GAMMAQ_LIBRARIES)
set(gammaq_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/gammaq)

install(TARGETS ${gammaq_libraries} gammaq EXPORT gammaqTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS gammaq_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/gammaq DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.h" PATTERN "*.inc")
install(EXPORT gammaqTargets NAMESPACE gammaq:: DESTINATION ${gammaq_cmake_dir})

configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/gammaqConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/gammaqConfig.cmake
                              INSTALL_DESTINATION ${gammaq_cmake_dir})
# 0.x: a minor version may change the API.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/gammaqConfigVersion.cmake
                                 VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/gammaqConfig.cmake
              ${PROJECT_BINARY_DIR}/gammaqConfigVersion.cmake
        DESTINATION ${gammaq_cmake_dir})
