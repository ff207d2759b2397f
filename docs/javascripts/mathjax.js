// MathJax 3 configuration for pymdownx.arithmatex (generic: true), as mkdocs-material
// documents it. MathJax itself is the local copy docs/hooks.py puts under mathjax/.
window.MathJax = {
  tex: {
    inline: [["\\(", "\\)"]],
    display: [["\\[", "\\]"]],
    processEscapes: true,
    processEnvironments: true
  },
  options: {
    ignoreHtmlClass: ".*|",
    processHtmlClass: "arithmatex"
  }
};

// MathJax typesets the page it is loaded on by itself. With mkdocs-material's instant
// loading the content is swapped without a reload: typeset each later page again (the
// first emission of document$ is the initial page; typesetting it twice races MathJax's
// own pass and leaves empty formulas).
if (typeof document$ !== "undefined") {
  let initial = true;
  document$.subscribe(() => {
    if (initial) {
      initial = false;
      return;
    }
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
      MathJax.startup.promise.then(() => {
        MathJax.startup.output.clearCache();
        MathJax.typesetClear();
        MathJax.texReset();
        return MathJax.typesetPromise();
      });
    }
  });
}
