"""Pure statistics (numpy, lifelines, scikit-learn, scikit-survival): metrics, weighted bootstrap statistics
and the validation metrics of training; on the ground floor so tasks, train and evaluate share them."""
