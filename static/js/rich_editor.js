/* A small rich-text editor for the duty report, with no third-party code.
 *
 * Progressive enhancement: a <textarea data-rich-editor> is replaced by a toolbar and an editable
 * area whose HTML is copied back into the (hidden) textarea on every change and on submit. Without
 * JavaScript the textarea itself is the editor. The server sanitises whatever arrives; the
 * allow-list here only keeps pasted and loaded content tidy while the chair edits.
 */
(function () {
  "use strict";

  var ALLOWED = { P: 1, BR: 1, H2: 1, H3: 1, H4: 1, STRONG: 1, B: 1, EM: 1, I: 1, U: 1, UL: 1, OL: 1, LI: 1, BLOCKQUOTE: 1, A: 1 };
  var DROPPED = { SCRIPT: 1, STYLE: 1, TEMPLATE: 1, NOSCRIPT: 1, IFRAME: 1, OBJECT: 1, EMBED: 1, SVG: 1, MATH: 1,
                  TEXTAREA: 1, SELECT: 1, TITLE: 1, HEAD: 1, META: 1, LINK: 1, IMG: 1, VIDEO: 1, AUDIO: 1 };
  var BLOCKS = { DIV: 1, SECTION: 1, ARTICLE: 1, HEADER: 1, FOOTER: 1, MAIN: 1, H1: "H2", H5: "H4", H6: "H4" };
  var SAFE_URL = /^(https?:\/\/|mailto:)/i;

  /* Copy the allowed part of `source` (a node of an inert document) into `target`. */
  function copyClean(source, target, doc) {
    for (var node = source.firstChild; node; node = node.nextSibling) {
      if (node.nodeType === 3) {
        target.appendChild(doc.createTextNode(node.nodeValue));
      } else if (node.nodeType === 1) {
        var name = node.nodeName.toUpperCase();
        if (DROPPED[name]) continue;
        var mapped = ALLOWED[name] ? name : (BLOCKS[name] === 1 ? "P" : BLOCKS[name]);
        if (!mapped) { copyClean(node, target, doc); continue; }
        var element = doc.createElement(mapped);
        if (mapped === "A") {
          var href = (node.getAttribute("href") || "").trim();
          if (SAFE_URL.test(href)) element.setAttribute("href", href);
        }
        copyClean(node, element, doc);
        target.appendChild(element);
      }
    }
  }

  function cleanFragment(html) {
    // DOMParser builds an inert document: nothing in it runs or loads.
    var parsed = new DOMParser().parseFromString(html, "text/html");
    var fragment = document.createDocumentFragment();
    copyClean(parsed.body, fragment, document);
    return fragment;
  }

  function escapeText(text) {
    var div = document.createElement("div");
    div.textContent = text;
    return div.innerHTML;
  }

  function plainToHtml(text) {
    return text.replace(/\r\n/g, "\n").split(/\n\s*\n/).map(function (block) {
      block = block.trim();
      return block ? "<p>" + escapeText(block).replace(/\n/g, "<br>") + "</p>" : "";
    }).join("");
  }

  function toHtml(value) {
    return /<[a-zA-Z\/!]/.test(value) ? value : plainToHtml(value);
  }

  var BUTTONS = [
    ["标题", "block", "h3"], ["小标题", "block", "h4"], ["正文", "block", "p"],
    ["加粗", "command", "bold"], ["斜体", "command", "italic"],
    ["• 列表", "command", "insertUnorderedList"], ["1. 列表", "command", "insertOrderedList"],
    ["引用", "block", "blockquote"], ["链接", "link"], ["取消链接", "command", "unlink"]
  ];

  function isBlank(html) {
    return /^\s*$/.test(html.replace(/<[^>]*>/g, "").replace(/&nbsp;/g, " "));
  }

  /* Keep what the chair is writing when the page is left some other way than "save".
   *
   * The page's other forms (uploads, captions, removals) reload the editor from the saved text.
   * When the text changed, a copy of it goes with them and the server saves it first. Leaving by
   * any other way (a link, the back button, closing the tab) asks the browser to warn.
   * `current` returns the text as it would be submitted.
   */
  function protect(textarea, current) {
    var form = textarea.form;
    if (!form) return;
    var loaded = current();
    // The server marks text that came back unsaved (a refused save): it differs from the stored one.
    var unsaved = textarea.hasAttribute("data-unsaved");
    var prefix = (form.getAttribute("action") || "").replace(/\/+$/, "") + "/";
    var leaving = false;

    function dirty() {
      var now = current();
      return unsaved || (now !== loaded && !(isBlank(now) && isBlank(loaded)));
    }

    document.addEventListener("submit", function (event) {
      var other = event.target;
      if (event.defaultPrevented) return;
      if (other === form) { leaving = true; return; }
      var action = other.getAttribute("action") || "";
      if ((other.getAttribute("method") || "").toLowerCase() !== "post" || action.indexOf(prefix) !== 0) return;
      leaving = true;
      if (!dirty()) return;
      var copy = other.querySelector("input[data-report-text]");
      if (!copy) {
        copy = document.createElement("input");
        copy.type = "hidden";
        copy.name = textarea.name;
        copy.setAttribute("data-report-text", "1");
        other.appendChild(copy);
      }
      copy.value = current();
    });
    window.addEventListener("beforeunload", function (event) {
      if (leaving || !dirty()) return;
      event.preventDefault();
      event.returnValue = "";  // older browsers need it set to show their warning
    });
    // Coming back to this page from the browser's page cache: it is being edited again.
    window.addEventListener("pageshow", function () { leaving = false; });
  }

  function setup(textarea) {
    if (typeof document.execCommand !== "function" || typeof DOMParser !== "function") {
      protect(textarea, function () { return textarea.value; });
      return;
    }
    var area = document.createElement("div");
    area.className = "rte-area";
    area.contentEditable = "true";
    area.setAttribute("role", "textbox");
    area.setAttribute("aria-multiline", "true");
    if (textarea.labels && textarea.labels[0]) {
      var label = textarea.labels[0];
      label.id = label.id || textarea.id + "-label";
      area.setAttribute("aria-labelledby", label.id);
      label.addEventListener("click", function () { area.focus(); });
    }
    area.appendChild(cleanFragment(toHtml(textarea.value)));

    var toolbar = document.createElement("div");
    toolbar.className = "rte-toolbar";
    toolbar.setAttribute("role", "toolbar");
    toolbar.setAttribute("aria-label", "格式");
    BUTTONS.forEach(function (spec) {
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = spec[0];
      // Keep the selection in the text when the button is pressed.
      button.addEventListener("mousedown", function (event) { event.preventDefault(); });
      button.addEventListener("click", function () { apply(spec); });
      toolbar.appendChild(button);
    });

    function sync() { textarea.value = area.innerHTML; }

    function apply(spec) {
      area.focus();
      if (spec[1] === "block") {
        document.execCommand("formatBlock", false, "<" + spec[2] + ">");
      } else if (spec[1] === "link") {
        var url = window.prompt("链接地址（以 https://、http:// 或 mailto: 开头）", "https://");
        if (!url) return;
        url = url.trim();
        if (!SAFE_URL.test(url) && /^[\w.-]+\.[a-z]{2,}(\/|$)/i.test(url)) url = "https://" + url;
        if (!SAFE_URL.test(url)) { window.alert("只能链接到 http、https 或 mailto 地址。"); return; }
        document.execCommand("createLink", false, url);
      } else {
        document.execCommand(spec[2], false, null);
      }
      sync();
    }

    area.addEventListener("paste", function (event) {
      var data = event.clipboardData;
      if (!data) return;
      event.preventDefault();
      var html = data.getData("text/html");
      var holder = document.createElement("div");
      holder.appendChild(html ? cleanFragment(html) : cleanFragment(plainToHtml(data.getData("text/plain"))));
      document.execCommand("insertHTML", false, holder.innerHTML);
      sync();
    });
    area.addEventListener("input", sync);
    area.addEventListener("blur", sync);
    if (textarea.form) textarea.form.addEventListener("submit", sync);

    try {
      document.execCommand("defaultParagraphSeparator", false, "p");
      document.execCommand("styleWithCSS", false, false);
    } catch (ignored) { /* older browsers: the server turns stray divs into paragraphs */ }

    textarea.hidden = true;
    textarea.removeAttribute("required");
    textarea.parentNode.insertBefore(toolbar, textarea);
    textarea.parentNode.insertBefore(area, textarea);
    protect(textarea, function () { return area.innerHTML; });
  }

  Array.prototype.forEach.call(document.querySelectorAll("textarea[data-rich-editor]"), setup);
}());
