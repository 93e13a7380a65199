// ReDoc 2.x draws "API docs by Redocly" in its sidebar with an <img> whose src is
// https://cdn.redoc.ly/redoc/logo-mini.svg, and has no option to leave it out. The docs pages
// load nothing from the internet (docs/design.md, contracts), so before ReDoc starts this
// turns any image source on ReDoc's CDN into an empty one: the browser requests nothing, the
// image's error handler removes it, and the credit's text and link stay. React sets an
// image's source both ways (the attribute, then the property when it mounts the image), so
// both are covered; every other value passes unchanged. tests/browser/test_assets.py fails
// if a request leaves the machine.
(() => {
  "use strict";
  const offline = (value) => (String(value).startsWith("https://cdn.redoc.ly/") ? "" : value);

  const src = Object.getOwnPropertyDescriptor(HTMLImageElement.prototype, "src");
  Object.defineProperty(HTMLImageElement.prototype, "src", {
    ...src,
    set(value) {
      src.set.call(this, offline(value));
    },
  });

  const setAttribute = Element.prototype.setAttribute;
  Element.prototype.setAttribute = function (name, value) {
    const image = this instanceof HTMLImageElement && String(name).toLowerCase() === "src";
    return setAttribute.call(this, name, image ? offline(value) : value);
  };
})();
