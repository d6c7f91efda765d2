// Site-wide behaviour, kept out of the templates (the Content-Security-Policy allows no inline scripts or handlers).
// A form with data-confirm="question" asks before it is submitted.
document.addEventListener("submit", function (event) {
  const question = event.target.dataset && event.target.dataset.confirm;
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
