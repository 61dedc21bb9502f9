# Warnings: -Wall -Wextra clean, as errors (STYLE.md §3.6 #13).
add_compile_options(-Wall -Wextra -Wshadow -Wnon-virtual-dtor)
if(GAMMAQ_WERROR)
  add_compile_options(-Werror)
endif()
