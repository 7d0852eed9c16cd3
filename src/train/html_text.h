#pragma once
// Plain paragraphs of an HTML page, for the training corpus: the visible running text of documentation
// pages (Sphinx, DocBook, mdBook, rustdoc output as Debian's doc packages ship it). Not a conforming HTML
// parser — it needs none: tags split the text into paragraphs, and the subtrees that never hold prose
// (head, script, style, pre, nav, code listings, math, forms) are skipped whole.
#include <optional>
#include <string>
#include <vector>

namespace ratkv::train {

// Paragraphs in document order: block-level tags (p, div, li, h1–h6, td, dt, dd, br, …) end one;
// inline tags vanish with their text kept; character references (&amp;, &#8212;, &#x2019;, the common
// named ones) are decoded to UTF-8; runs of white space become one space. Unbalanced or truncated markup
// never throws: whatever text stands outside the skipped subtrees is kept.
std::vector<std::string> html_paragraphs(const std::string& html);

// Decodes one character reference body (between '&' and ';', e.g. "amp", "#8212", "#x2019") to UTF-8
// (a soft hyphen to nothing); nullopt when it is not one ratkv knows, so the caller keeps the text as
// written.
std::optional<std::string> decode_html_entity(const std::string& name);

}  // namespace ratkv::train
