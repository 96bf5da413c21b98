# Turns every file under admin/web into a byte array in one .cpp, so the
# console ships inside homthud (no install step, no CDN). Run in script mode:
#   cmake -DWEB_DIR=... -DOUT=... -P embed_web.cmake
#
# Besides the files as they are, it embeds two files made here, named after
# their content (so they can be kept by browsers for a year and never asked
# for again: a new build has new names):
#   /js/console-<hash>.js  js/app.js and the modules it imports, concatenated
#                          (imports dropped, exports unmarked): one request
#                          instead of five on a fresh tab;
#   /css/app-<hash>.css    css/app.css.
# The embedded index.html loads those instead of app.js, its modulepreloads
# and app.css. The files in web/ are unchanged, so [admin] static_dir still
# serves the modules one by one for working on them.
cmake_policy(VERSION 3.25)
file(GLOB_RECURSE files RELATIVE "${WEB_DIR}" "${WEB_DIR}/*")
list(SORT files)

function(content_type f out)
  set(type "application/octet-stream")
  if(f MATCHES "\\.html$")
    set(type "text/html; charset=utf-8")
  elseif(f MATCHES "\\.m?js$")
    set(type "text/javascript; charset=utf-8")
  elseif(f MATCHES "\\.css$")
    set(type "text/css; charset=utf-8")
  elseif(f MATCHES "\\.json$")
    set(type "application/json; charset=utf-8")
  elseif(f MATCHES "\\.svg$")
    set(type "image/svg+xml")
  elseif(f MATCHES "\\.png$")
    set(type "image/png")
  elseif(f MATCHES "\\.ico$")
    set(type "image/x-icon")
  endif()
  set(${out} "${type}" PARENT_SCOPE)
endfunction()

# The bundle. Each imported module is included once, before app.js, in the
# order app.js imports them; they may not import anything themselves. Two
# top-level declarations with the same name in different modules would
# collide once concatenated, so that stops the build.
file(READ "${WEB_DIR}/js/app.js" entry)
string(REGEX MATCHALL "\nimport [^\n;]* from '\\./[A-Za-z0-9_-]+\\.js'" imports "\n${entry}")
set(bundle "// Generated from admin/web/js by admin/cmake/embed_web.cmake; do not edit.\n")
set(declared "")
foreach(item IN LISTS imports)
  string(REGEX REPLACE ".* from '\\./([A-Za-z0-9_-]+\\.js)'$" "\\1" module "${item}")
  list(APPEND modules "${module}")
endforeach()
list(APPEND modules "app.js")
foreach(module IN LISTS modules)
  file(READ "${WEB_DIR}/js/${module}" text)
  set(text "\n${text}")
  if(module STREQUAL "app.js")
    string(REGEX REPLACE "\nimport [^\n;]* from '\\./[A-Za-z0-9_-]+\\.js';" "\n" text "${text}")
  endif()
  string(REGEX REPLACE "\nexport (async function|function|class|const|let) " "\n\\1 " text "${text}")
  string(FIND "${text}" "\nimport " has_import)
  string(FIND "${text}" "\nexport " has_export)
  if(NOT has_import EQUAL -1 OR NOT has_export EQUAL -1)
    message(FATAL_ERROR "js/${module}: only one-line imports in app.js and `export function|class|const|let` can be bundled")
  endif()
  string(REGEX MATCHALL "\n(async function|function|class|const|let|var) [A-Za-z_$][A-Za-z0-9_$]*" decls "${text}")
  foreach(d IN LISTS decls)
    string(REGEX REPLACE ".* " "" name "${d}")
    if(name IN_LIST declared)
      message(FATAL_ERROR "js/${module}: top-level name `${name}` is declared in another module too; the bundle needs unique names")
    endif()
    list(APPEND declared "${name}")
  endforeach()
  string(APPEND bundle "\n// ---- js/${module}${text}")
endforeach()

string(SHA256 bundle_hash "${bundle}")
string(SUBSTRING "${bundle_hash}" 0 16 bundle_hash)
file(READ "${WEB_DIR}/css/app.css" css)
string(SHA256 css_hash "${css}")
string(SUBSTRING "${css_hash}" 0 16 css_hash)
set(bundle_path "js/console-${bundle_hash}.js")
set(css_path "css/app-${css_hash}.css")

file(READ "${WEB_DIR}/index.html" index)
string(REGEX REPLACE "<link rel=\"modulepreload\" href=\"/js/[A-Za-z0-9_-]+\\.js\">\n" "" index "${index}")
string(REPLACE "<script type=\"module\" src=\"/js/app.js\"></script>"
               "<script type=\"module\" src=\"/${bundle_path}\"></script>" index_out "${index}")
string(REPLACE "<link rel=\"stylesheet\" href=\"/css/app.css\">"
               "<link rel=\"stylesheet\" href=\"/${css_path}\">" index_out "${index_out}")
string(FIND "${index_out}" "/${bundle_path}" has_bundle)
string(FIND "${index_out}" "/${css_path}" has_css)
if(has_bundle EQUAL -1 OR has_css EQUAL -1)
  message(FATAL_ERROR "index.html: expected <script type=\"module\" src=\"/js/app.js\"></script> and <link rel=\"stylesheet\" href=\"/css/app.css\">")
endif()

set(body "// Generated from admin/web by admin/cmake/embed_web.cmake; do not edit.\n")
string(APPEND body "#include \"static_assets.hpp\"\n\nnamespace homthu::admin {\n\nnamespace {\n\n")
set(table "")
set(i 0)
# Appends one asset from its bytes in hex.
macro(embed path hex immutable)
  string(LENGTH "${hex}" hexlen)
  math(EXPR size "${hexlen} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," bytes "${hex}")
  string(APPEND body "const char asset_${i}[] = {${bytes}0};\n")
  content_type("${path}" type)
  string(APPEND table "    {\"/${path}\", \"${type}\", std::string_view(asset_${i}, ${size}), ${immutable}},\n")
  math(EXPR i "${i} + 1")
endmacro()

foreach(f IN LISTS files)
  if(f MATCHES "(^|/)\\." OR f MATCHES "~$")
    continue()
  endif()
  if(f STREQUAL "index.html")
    string(HEX "${index_out}" hex)
  else()
    file(READ "${WEB_DIR}/${f}" hex HEX)
  endif()
  embed("${f}" "${hex}" false)
endforeach()
string(HEX "${bundle}" hex)
embed("${bundle_path}" "${hex}" true)
string(HEX "${css}" hex)
embed("${css_path}" "${hex}" true)

string(APPEND body "const web_asset assets[] = {\n${table}};\n\n}  // namespace\n\n")
string(APPEND body "std::span<const web_asset> embedded_assets() { return assets; }\n\n}  // namespace homthu::admin\n")
file(WRITE "${OUT}.tmp" "${body}")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUT}.tmp")
