# The Debian-packaged web libraries the dashboard serves under /vendor/
# (docs/dashboard-api.md §6). Each file is embedded as vendor/<url path>; a missing file
# stops the configure step naming the package to install. Sets
# PIXIE_VENDOR_EMBED (embedgen arguments "vendor/<path>=<absolute file>")
# and PIXIE_VENDOR_FILES (the files, for dependencies).
set(PIXIE_VENDOR_EMBED "")
set(PIXIE_VENDOR_FILES "")
set(PIXIE_VENDOR_PACKAGES "")

# pixie_vendor(URL_PATH FILE PACKAGE): one served file.
macro(pixie_vendor url file package)
  if(NOT EXISTS "${file}")
    message(FATAL_ERROR "Missing ${file} for /vendor/${url}: install the Debian package "
                        "'${package}' (apt-get install ${package})")
  endif()
  list(APPEND PIXIE_VENDOR_EMBED "vendor/${url}=${file}")
  list(APPEND PIXIE_VENDOR_FILES "${file}")
  list(APPEND PIXIE_VENDOR_PACKAGES "${package}")
endmacro()

set(_js /usr/share/javascript)
pixie_vendor(chart.js/chart.min.js ${_js}/chart.js/chart.min.js libjs-chart.js)
pixie_vendor(marked/marked.min.js ${_js}/marked/marked.min.js libjs-marked)
pixie_vendor(dompurify/purify.min.js /usr/share/nodejs/dompurify/dist/purify.min.js node-dompurify)
pixie_vendor(katex/katex.min.js ${_js}/katex/katex.min.js libjs-katex)
pixie_vendor(katex/katex.min.css ${_js}/katex/katex.min.css libjs-katex)
file(GLOB _katex_fonts /usr/share/fonts/truetype/katex/*.woff2)
if(NOT _katex_fonts)
  message(FATAL_ERROR "Missing /usr/share/fonts/truetype/katex/*.woff2: install the Debian "
                      "package 'fonts-katex' (apt-get install fonts-katex)")
endif()
foreach(_f ${_katex_fonts})
  get_filename_component(_n ${_f} NAME)
  pixie_vendor(katex/fonts/${_n} ${_f} fonts-katex)
endforeach()
pixie_vendor(highlight.js/highlight.min.js ${_js}/highlight.js/highlight.min.js libjs-highlight.js)
pixie_vendor(highlight.js/styles/github.css ${_js}/highlight.js/styles/github.css libjs-highlight.js)
# github-dark.css when the package has it, else the nearest dark style,
# served under the same URL so pages need not know.
set(_dark ${_js}/highlight.js/styles/github-dark.css)
foreach(_cand github-dark.css github-dark-dimmed.css atom-one-dark.css dark.css)
  if(EXISTS ${_js}/highlight.js/styles/${_cand})
    set(_dark ${_js}/highlight.js/styles/${_cand})
    break()
  endif()
endforeach()
pixie_vendor(highlight.js/styles/github-dark.css ${_dark} libjs-highlight.js)
pixie_vendor(leaflet/leaflet.min.js ${_js}/leaflet/leaflet.min.js libjs-leaflet)
pixie_vendor(leaflet/leaflet.css ${_js}/leaflet/leaflet.css libjs-leaflet)
file(GLOB _leaflet_images ${_js}/leaflet/images/*.png)
if(NOT _leaflet_images)
  message(FATAL_ERROR "Missing ${_js}/leaflet/images/*.png: install the Debian package "
                      "'libjs-leaflet' (apt-get install libjs-leaflet)")
endif()
foreach(_f ${_leaflet_images})
  get_filename_component(_n ${_f} NAME)
  pixie_vendor(leaflet/images/${_n} ${_f} libjs-leaflet)
endforeach()

# LICENSES.txt: each package's copyright file under a header.
list(REMOVE_DUPLICATES PIXIE_VENDOR_PACKAGES)
set(_licenses "Licenses of the libraries served under /vendor/ (from the Debian packages)\n")
foreach(_p ${PIXIE_VENDOR_PACKAGES})
  set(_c /usr/share/doc/${_p}/copyright)
  if(NOT EXISTS ${_c})
    message(FATAL_ERROR "Missing ${_c}: install the Debian package '${_p}'")
  endif()
  file(READ ${_c} _text)
  string(APPEND _licenses "\n===== ${_p} (${_c}) =====\n\n${_text}")
  list(APPEND PIXIE_VENDOR_FILES ${_c})
endforeach()
set(_lic ${CMAKE_BINARY_DIR}/vendor/LICENSES.txt)
file(WRITE ${_lic}.tmp "${_licenses}")
configure_file(${_lic}.tmp ${_lic} COPYONLY) # rewritten only when it changed
list(APPEND PIXIE_VENDOR_EMBED "vendor/LICENSES.txt=${_lic}")
list(APPEND PIXIE_VENDOR_FILES ${_lic})
