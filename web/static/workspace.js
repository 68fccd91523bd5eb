// Progressive enhancement only: every page works without it. A form submitted twice (a double
// click on "Reject") would store the same verdict twice and reload twice; the second is dropped.
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (form.method.toLowerCase() !== "post") return;
  if (form.dataset.busy) { event.preventDefault(); return; }
  form.dataset.busy = "1";
  form.setAttribute("aria-busy", "true");
});
